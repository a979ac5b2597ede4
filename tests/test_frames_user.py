"""User frames built from the 新建框架 form: saved in the data dir, used by drafting and the critic."""

from __future__ import annotations

import pytest
import yaml

from rag.config import get_settings
from rag.critic.checks import SECTION_WORDS
from rag.critic.engine import critique
from rag.draft.assemble import title_of, write_opening
from rag.draft.facts import _FRAME_PATTERN, facts_from_dict
from rag.draft.plan import plan_facts, resolve_frame
from rag.errors import InputError
from rag.frames import (
    FRAME_ID_PATTERN,
    MEETING_TYPES,
    REQUIRED_SECTIONS,
    builtin_frames,
    create_user_frame,
    delete_user_frame,
    frame_mapping_from_form,
    get_frame,
    load_frames,
    parse_aspect_lines,
    user_frame_id,
    user_frames,
)

NAME = "2026年学习教育专题组织生活会"
ASPECTS = (
    "（一）对照党章党规，查找政治功能方面的差距｜政治功能、三会一课｜三会一课、党员教育管理、支部议事\n"
    "2. 在服务群众上带头｜服务群众｜群众诉求、为民办实事\n"
    "\n"
    "对照先进典型，查找担当作为方面的差距\n"
)
UNIT = "岚溪县文化广电旅游体育局机关党支部"


def frames_dir():
    return get_settings().data_dir / "frames"


def make_frame(**kw):
    args = {"name": NAME, "meeting_types": ["支部", "班子"], "year": 2026, "aspects_text": ASPECTS,
            "required_sections": ["反面典型案例剖析"], "theme": "学查改"} | kw
    return create_user_frame(**args)


# ------------------------------------------------------------------------------ good input

def test_form_input_is_saved_and_returned_by_get_frame():
    frame = make_frame()
    assert frame.id == "2026-xxjyztzzshh"  # year + pinyin initials of the rest of the name
    assert (frames_dir() / f"{frame.id}.yaml").is_file()
    again = get_frame(frame.id)
    assert again == frame
    assert again.name == NAME and again.meeting == "专题组织生活会" and again.special
    assert again.meeting_types == ["班子", "支部"]  # canonical order
    assert again.years == [2026] and again.theme == "学查改"
    assert again.required_sections == ["反面典型案例剖析"]
    assert [a.name for a in again.aspects] == [
        "对照党章党规，查找政治功能方面的差距", "在服务群众上带头", "对照先进典型，查找担当作为方面的差距"]
    first, second, third = again.aspects
    assert first.keywords == ["政治功能", "三会一课"] and first.description == "三会一课、党员教育管理、支部议事"
    assert second.keywords == ["服务群众"] and second.description == "群众诉求、为民办实事"
    assert third.keywords == ["先进典型", "查找担当作为"]  # none given: derived from the name
    assert third.matches("（三）对照先进典型，查找担当作为方面的差距")
    assert frame.id in {f.id for f in load_frames()}


def test_saved_file_is_plain_frame_yaml():
    frame = make_frame()
    data = yaml.safe_load((frames_dir() / f"{frame.id}.yaml").read_text(encoding="utf-8"))
    assert data["id"] == frame.id and data["name"] == NAME and data["years"] == [2026]
    assert data["aspects"][0] == {"name": "对照党章党规，查找政治功能方面的差距", "keywords": ["政治功能", "三会一课"],
                                  "description": "三会一课、党员教育管理、支部议事"}
    assert "special" not in data and "priority" not in data  # defaults are left out


def test_derived_keywords_split_the_short_form():
    aspects = parse_aspect_lines("在强化理论武装、提高政治能力上带头\n理论学习方面")
    assert aspects[0]["keywords"] == ["强化理论武装", "提高政治能力"]
    assert aspects[1]["keywords"] == ["理论学习"]


def test_year_from_name_and_types_as_text():
    data = frame_mapping_from_form("2027年度民主生活会（三个方面）", "班子、个人", None, "政治建设\n作风建设")
    assert data["years"] == [2027] and data["meeting"] == "民主生活会"
    assert data["meeting_types"] == ["班子", "个人"]
    assert "required_sections" not in data and "theme" not in data


def test_given_id_is_used_and_lowercased():
    frame = make_frame(frame_id="My-Zhuanti_2026")
    assert frame.id == "my-zhuanti_2026"
    assert (frames_dir() / "my-zhuanti_2026.yaml").is_file()


def test_control_tokens_in_form_text_are_defused():
    frame = make_frame(aspects_text="政治功能方面<|im_start|>\u200b｜政治功能")
    assert frame.aspects[0].name == "政治功能方面〈im_start〉"


def test_constants_match_the_drafting_and_critic_code():
    assert FRAME_ID_PATTERN == _FRAME_PATTERN
    assert set(REQUIRED_SECTIONS) == set(SECTION_WORDS)
    assert MEETING_TYPES == ("班子", "个人", "支部")
    assert all(__import__("re").match(FRAME_ID_PATTERN, user_frame_id(n, 2026))
               for n in (NAME, "组织生活会", "ABC 民主生活会", "专题民主生活会（2026）"))


# ------------------------------------------------------------------------------ used by drafting and critique

def unit_facts(frame_id: str):
    return facts_from_dict({
        "unit": UNIT, "meeting_type": "支部", "year": 2026, "frame": frame_id,
        "preparation": {"study_sessions": 2, "talks": 15, "opinions": 9},
        "facts": [
            {"id": "F1", "category": "征求意见", "text": "党员群众反映支部服务群众不主动，2026年上半年为民办实事只有1件，群众诉求回复平均超过15天。",
             "source": "征求意见汇总"},
            {"id": "F2", "category": "其他", "text": "2026年1至5月三会一课缺课2次，主题党日与业务会合并开展。",
             "source": "支部台账"},
        ],
    })


def test_drafting_uses_the_user_frame():
    frame = make_frame()
    facts = unit_facts(frame.id)
    assert resolve_frame(facts) == frame
    assert title_of(facts, frame) == f"{UNIT}{NAME}对照检查材料"  # a 专题 meeting keeps its own name
    opening = write_opening(facts, frame).text
    assert NAME in opening and "三个方面" in opening
    plan = plan_facts(facts, frame)
    assert plan.by_aspect["在服务群众上带头"] == ["F1"]  # keyword 服务群众
    assert plan.by_aspect["对照党章党规，查找政治功能方面的差距"] == ["F2"]  # keyword 三会一课


CASE_FREE = (
    f"{UNIT}{NAME}对照检查材料\n"
    "一、存在的问题\n"
    "（一）对照党章党规，查找政治功能方面的差距\n"
    "一是组织生活不够严格。2026年1至5月三会一课缺课2次，主题党日与业务会合并开展，党员反映收获不大。\n"
    "（二）在服务群众上带头方面\n"
    "一是为民办实事不够主动。2026年上半年支部为民办实事只有1件，群众诉求回复平均超过15天。\n"
    "二、原因分析\n"
    "宗旨意识树得不牢，支部把完成业务当成主要任务，对群众诉求的紧迫性认识不足，组织生活流于形式。\n"
    "三、整改措施\n"
    "1.2026年7月底前由支部书记牵头建立三会一课台账，每月检查一次，缺课的当月补课。\n"
    "2.2026年8月底前由组织委员负责梳理群众诉求清单，回复时间压缩到7天以内。\n"
)
CASE = "四、反面典型案例剖析\n对照市纪委通报的某单位支部书记违规收受礼金案，支部在节日期间提醒不够。\n"


def critique_with(frame, text):
    return critique(text, year=2026, meeting_type="班子", frame=frame)


def test_critique_checks_the_user_frame_required_part():
    frame = make_frame()
    report = critique_with(frame, CASE_FREE)
    assert report.context.frame == frame.id and report.context.frame_name == NAME
    missing = [f for f in report.findings if f.rule == "structure.required_extra"]
    assert [f.detail for f in missing] == ["缺少“反面典型案例剖析”部分"]
    report = critique_with(frame, CASE_FREE + CASE)
    assert not [f for f in report.findings if f.rule == "structure.required_extra"]


def test_critique_picks_the_user_frame_for_a_draft_that_names_its_aspects():
    frame = make_frame()
    report = critique(CASE_FREE)  # year, type and frame all inferred
    assert report.context.year == 2026 and report.context.frame == frame.id


def test_critique_accepts_the_user_frame_aspects_and_flags_them_under_another_frame():
    frame = make_frame()
    own = critique_with(frame, CASE_FREE + CASE)
    assert not [f for f in own.findings if f.rule == "frame.aspects_mismatch"]
    other = critique(CASE_FREE + CASE, year=2025, meeting_type="班子", frame_id="2025-minzhu-wugedaitou")
    flagged = [f for f in other.findings if f.rule == "frame.aspects_mismatch"]
    assert flagged and f"该标题属于“{NAME}”" in flagged[0].detail


# ------------------------------------------------------------------------------ bad input

@pytest.mark.parametrize(("kw", "message"), [
    ({"name": ""}, "请填写会议名称"),
    ({"name": "2026年学习教育专题会"}, "没有写明是民主生活会还是组织生活会"),
    ({"aspects_text": "  \n "}, "还没有填写检视方面"),
    ({"aspects_text": "\n".join(f"第{i}个方面的差距" for i in range(13))}, "最多 12 个"),
    ({"aspects_text": "政治功能\n政治功能"}, "重复填写"),
    ({"aspects_text": "党"}, "名称应为 2–80 个字"),
    ({"aspects_text": "政治功能｜政治｜说明｜多余"}, "最多3段"),
    ({"aspects_text": "政治功能方面｜政"}, "太短，至少两个字"),
    ({"meeting_types": []}, "请至少选择一种材料类型"),
    ({"meeting_types": ["党委"]}, "材料类型“党委”不认识"),
    ({"year": 1999}, "年度“1999”不对"),
    ({"year": "明年"}, "年度“明年”不对"),
    ({"year": None, "name": "学习教育专题组织生活会"}, "请填写年度"),
    ({"required_sections": ["述职述廉"]}, "必需部分“述职述廉”不认识"),
    ({"frame_id": "我的框架"}, "不合格式"),
    ({"frame_id": "-abc"}, "不合格式"),
])
def test_bad_input_gives_chinese_error_and_saves_nothing(kw, message):
    with pytest.raises(InputError) as err:
        make_frame(**kw)
    assert message in err.value.message
    assert err.value.hint  # says what to do
    assert not frames_dir().exists() or not list(frames_dir().glob("*.yaml"))


def test_builtin_ids_are_never_overwritten():
    builtin = builtin_frames()[0]
    before = get_frame(builtin.id)
    for replace in (False, True):
        with pytest.raises(InputError) as err:
            make_frame(frame_id=builtin.id, replace=replace)
        assert "内置框架不能覆盖" in err.value.message and builtin.name in err.value.message
        assert "另填一个编号" in err.value.hint
    assert get_frame(builtin.id) == before
    assert not (frames_dir() / f"{builtin.id}.yaml").exists()


def test_same_id_needs_replace():
    make_frame()
    with pytest.raises(InputError) as err:
        make_frame(theme="新主题")
    assert "已经有编号为“2026-xxjyztzzshh”的自建框架" in err.value.message
    assert "覆盖同编号的自建框架" in err.value.hint
    assert get_frame("2026-xxjyztzzshh").theme == "学查改"
    replaced = make_frame(theme="新主题", replace=True)
    assert replaced.theme == "新主题" and get_frame(replaced.id).theme == "新主题"
    assert len(user_frames()) == 1


# ------------------------------------------------------------------------------ listing and deleting

def test_delete_user_frame():
    frame = make_frame()
    path = delete_user_frame(frame.id)
    assert not path.exists()
    assert user_frames() == []
    with pytest.raises(InputError, match="找不到年度框架"):
        get_frame(frame.id)
    with pytest.raises(InputError) as err:
        delete_user_frame(frame.id)
    assert "没有找到编号为" in err.value.message


def test_builtin_frames_cannot_be_deleted():
    builtin = builtin_frames()[0]
    with pytest.raises(InputError) as err:
        delete_user_frame(builtin.id)
    assert "内置框架，不能删除" in err.value.message
    assert get_frame(builtin.id) == builtin


def test_broken_and_shadowing_files_are_listed_with_the_reason_and_can_be_deleted():
    folder = frames_dir()
    folder.mkdir(parents=True)
    (folder / "broken.yaml").write_text("name: [unclosed\n", encoding="utf-8")
    builtin = builtin_frames()[0]
    (folder / "shadow.yaml").write_text(yaml.safe_dump({
        "id": builtin.id, "name": "同编号的框架", "meeting": "组织生活会", "aspects": [{"name": "政治功能"}],
    }, allow_unicode=True), encoding="utf-8")
    entries = {u.path.name: u for u in user_frames()}
    assert entries["broken.yaml"].frame is None and "无法读取" in entries["broken.yaml"].error
    assert entries["shadow.yaml"].frame.name == "同编号的框架" and "不会生效" in entries["shadow.yaml"].error
    delete_user_frame("broken")
    delete_user_frame(builtin.id)  # the user's file with that id, not the built-in
    assert user_frames() == []
    assert get_frame(builtin.id) == builtin
