"""The “会议框架” picker on the 起草 and 批改 pages, driven headlessly with AppTest (temp data dir from conftest,
scripted fake model, no network): a frame the user saved shows up in both pickers and is the one used."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag.evals.scripted import ScriptedChatModel
from rag.frames import builtin_frames, create_user_frame, facts_with_frame, selectable_frames
from rag.store import DraftStore

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
NAME = "2026年学习教育专题民主生活会"
FRAME_ID = "2026-xxjyztmzshh"
ASPECTS = ("对照党章党规，查找政治功能方面的差距｜政治功能、议事规则｜党组议事、三重一大\n"
           "在服务群众上带头｜服务群众、送戏下乡｜联系群众、为民办事")
DRAFT = (
    "某局领导班子2025年度民主生活会对照检查材料\n"
    "一、存在的问题\n"
    "（一）在强化政治忠诚、提高政治能力上带头方面\n"
    "一是学习贯彻不够及时。2025年局党组理论学习中心组集中学习10次，其中3次只传达文件、没有研讨交流，"
    "对上级部署的学习任务有2项推迟到下一季度才完成。\n"
    "二、原因分析\n"
    "理想信念的根基扎得不牢，党性修养上放松了要求，对学习的重要性认识不足，满足于完成规定动作。\n"
    "三、整改措施\n"
    "1.2026年3月底前制定中心组学习计划，每次学习安排2名班子成员交流发言，由办公室建立台账、每季度通报1次。\n"
)


@pytest.fixture(autouse=True)
def _project_on_path(monkeypatch):
    """Pages import ``ui.common``; ``streamlit run ui/app.py`` puts the root on sys.path, tests do it here."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.chdir(ROOT)


@pytest.fixture
def user_frame():
    """A 专题 frame of the user's own, saved in the temp data dir (requires only 反面典型案例剖析)."""
    frame = create_user_frame(NAME, ["班子", "个人"], 2026, ASPECTS, ["反面典型案例剖析"], theme="学查改")
    assert frame.id == FRAME_ID and frame.special
    return frame


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "ui" / "views" / f"{name}.py"), default_timeout=TIMEOUT)


# ------------------------------------------------------------------------------ package functions

def test_selectable_frames_are_builtin_then_usable_user_frames(user_frame, tmp_path):
    from rag.config import get_settings

    folder = get_settings().data_dir / "frames"
    (folder / "broken.yaml").write_text("name: x\n", encoding="utf-8")  # unusable: left out, no error
    clash = builtin_frames()[0]
    (folder / "clash.yaml").write_text(f"id: {clash.id}\nname: 冒名的框架\nmeeting: 民主生活会\n"
                                       "aspects:\n  - name: 某个方面\n", encoding="utf-8")
    frames = selectable_frames()
    assert [f.id for f in frames] == [*(f.id for f in builtin_frames()), FRAME_ID]
    assert frames[-1] == user_frame and all(f.name != "冒名的框架" for f in frames)


def test_facts_with_frame_overrides_only_when_a_frame_is_given(user_frame):
    from rag.draft.facts import load_facts

    facts = load_facts(ROOT / "examples" / "facts" / "mini.yaml")
    assert facts_with_frame(facts, None) is facts
    picked = facts_with_frame(facts, user_frame)
    assert picked.frame == user_frame and picked.frame_id == FRAME_ID
    assert facts.frame_id == "2025-minzhu-wugedaitou"  # the original is left alone
    from rag.draft.facts import facts_from_dict

    assert facts_from_dict(picked.model_dump()).frame_id == FRAME_ID  # as saved with a draft and read back


# ------------------------------------------------------------------------------ 批改

def critique_with(frame_choice: str | None) -> AppTest:
    at = page("critique").run()
    if frame_choice is not None:
        at.selectbox(key="critique_frame").set_value(frame_choice)
    at.text_area(key="critique_text").set_value(DRAFT)
    at.button(key="run_critique").click().run()
    assert not at.exception and not at.error
    return at


def findings(at: AppTest) -> str:
    """The findings as shown: message lines and their details (captions)."""
    return "\n".join([m.value for m in at.markdown if "-badge[" in m.value] + [c.value for c in at.caption])


def test_critique_picker_lists_the_user_frame_and_defaults_to_auto(user_frame):
    at = page("critique").run()
    picker = at.selectbox(key="critique_frame")
    assert picker.label == "会议框架" and picker.value == "自动识别"
    assert picker.options == ["自动识别", *(f.name for f in builtin_frames()), NAME]


def test_critique_uses_the_picked_user_frame(user_frame):
    auto = critique_with(None)
    assert any("框架：2025" in c.value and "（自动识别）" in c.value for c in auto.caption)
    assert "缺少“上年度整改”部分" in findings(auto)  # the 2025 frame's required part
    assert NAME not in findings(auto)

    picked = critique_with(FRAME_ID)
    assert any(c.value.endswith(f"框架：{NAME}") for c in picked.caption)  # chosen, not inferred
    shown = findings(picked)
    assert "缺少“反面典型案例剖析”部分" in shown  # the user frame's required part
    assert "缺少“上年度整改”部分" not in shown  # required by the 2025 frame only
    assert f"本年度应使用“{NAME}”的方面" in shown  # the heading is not one of the user frame's aspects


# ------------------------------------------------------------------------------ 起草

def test_draft_picker_lists_the_user_frame_and_overrides_the_facts_frame(user_frame):
    at = page("draft")
    at.session_state["chat_model"] = ScriptedChatModel()
    at.run()
    picker = at.selectbox(key="draft_frame")
    assert picker.label == "会议框架" and picker.value == "自动识别"
    assert NAME in picker.options and picker.options[0] == "自动识别"
    at.selectbox(key="example").set_value(ROOT / "examples" / "facts" / "mini.yaml")
    picker.set_value(FRAME_ID).run()
    assert any(c.value == f"会议框架：{NAME}（替换事实材料中的框架）" for c in at.caption)
    at.button(key="generate").click().run()
    assert not at.exception and not at.error
    title = f"岚溪县文化广电旅游体育局领导班子{NAME}对照检查材料"  # the 专题 meeting keeps its own name
    assert title in at.html[0].value
    [saved] = DraftStore().list_drafts()
    assert saved.title == title
    draft = at.session_state["draft_obj"]
    assert draft.frame_id == FRAME_ID
    shown = at.html[0].value
    assert "在服务群众上带头" in shown and "政治功能方面的差距" in shown  # the user frame's aspects
    assert "在强化政治忠诚、提高政治能力上带头" not in shown  # not the facts' 2025 frame


def test_draft_without_a_pick_keeps_the_facts_frame(user_frame):
    at = page("draft")
    at.session_state["chat_model"] = ScriptedChatModel()
    at.run()
    at.selectbox(key="example").set_value(ROOT / "examples" / "facts" / "mini.yaml").run()
    assert not any(c.value.startswith("会议框架：") for c in at.caption)
    at.button(key="generate").click().run()
    assert not at.exception
    assert at.session_state["draft_obj"].frame_id == "2025-minzhu-wugedaitou"
