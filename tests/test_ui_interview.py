"""The 起草 page's “对话采集事实” mode driven headlessly with AppTest (fake model, temp data dir)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from rag.draft.facts import load_facts
from rag.evals.scripted import ScriptedChatModel
from rag.interview import state_from_json, to_yaml
from rag.store import DraftStore

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120
STUDY = "2025年中心组集中学习计划12次，实际开了8次，其中3次只传达文件没有研讨。来源：中心组学习记录"
SKIP_PREP = ("跳过", "跳过")  # the preparation figures and the meeting date


@pytest.fixture(autouse=True)
def _project_on_path(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.chdir(ROOT)


def draft_page() -> AppTest:
    at = AppTest.from_file(str(ROOT / "ui" / "views" / "draft.py"), default_timeout=TIMEOUT)
    at.session_state["chat_model"] = ScriptedChatModel()
    return at


def chat_texts(at: AppTest) -> list[str]:
    """The chat as shown: one string per message (its markdown and error blocks)."""
    out = []
    for msg in at.chat_message:
        out.append("\n".join([m.value for m in msg.markdown] + [e.value for e in msg.error]))
    return out


def say(at: AppTest, *replies: str) -> AppTest:
    for reply in replies:
        at.chat_input(key="interview_chat").set_value(reply).run()
        assert not at.exception, at.exception
    return at


def interview_mode() -> AppTest:
    at = draft_page().run()
    at.radio(key="facts_source").set_value("对话采集事实").run()
    assert not at.exception
    return at


def param(at: AppTest, name: str) -> str:
    """A URL query parameter (AppTest gives a list for some and a string for others)."""
    value = at.query_params[name]
    return value[0] if isinstance(value, list) else value


def saved_state(at: AppTest):
    return state_from_json(DraftStore().get_interview(int(param(at, "interview"))))


def editor_key(at: AppTest) -> str:
    """The facts table's widget key (it changes with the chat so edits never apply to stale rows)."""
    key = f"interview_editor_{len(saved_state(at).messages)}_0"
    assert key in at.session_state
    return key


def test_interview_chats_follows_up_and_collects_facts_that_survive_a_refresh():
    at = interview_mode()
    shown = chat_texts(at)
    assert shown[0].startswith("我来一问一答") and "这次要写哪一种材料" in shown[1]
    assert "interview" in at.query_params
    assert at.button(key="interview_draft").disabled  # nothing to draft from yet
    assert not at.download_button

    say(at, "班子", "2025", "岚溪县农业农村局领导班子", *SKIP_PREP, STUDY, "下一个", "党性修养还需要进一步加强")
    shown = chat_texts(at)
    assert any("（1/7）在强化政治忠诚" in t for t in shown)
    assert "还比较笼统" in shown[-1]  # the vague answer got its follow-up
    assert any(s.value == "已采集的事实（1 条）" for s in at.subheader)
    state = saved_state(at)
    assert state.phase == "follow_up" and [f.text for f in state.facts] == [STUDY.split("。来源")[0] + "。"]
    assert not at.button(key="interview_draft").disabled
    assert [b.label for b in at.download_button] == ["下载事实文件（YAML）"]

    fresh = draft_page()  # a browser refresh: a new session with the same URL
    fresh.query_params["interview"] = param(at, "interview")
    fresh.run()
    assert not fresh.exception
    assert fresh.radio(key="facts_source").value == "对话采集事实"
    assert chat_texts(fresh) == chat_texts(at)
    say(fresh, "2025年支部开了10次主题党日，班子成员平均只参加了4次")
    state = saved_state(fresh)
    assert state.facts[-1].text.startswith("党性修养还需要进一步加强；2025年支部开了10次")
    assert state.facts[-1].aspect == "在固本培元、增强党性上带头"


def test_bad_reply_is_shown_as_an_error_in_the_chat():
    at = interview_mode()
    say(at, "说不清楚")
    assert any("没有看出是哪种材料" in e.value for e in at.error)
    assert saved_state(at).meeting_step == "meeting_type"


def test_edit_facts_in_the_table_and_download_the_yaml():
    at = interview_mode()
    say(at, "个人", "2025", "岚溪县农业农村局", "副局长，分管项目建设", *SKIP_PREP, STUDY, "结束")
    assert saved_state(at).done
    at.session_state[editor_key(at)] = {
        "edited_rows": {0: {"text": "2025年中心组集中学习只开了8次，我缺席2次"}},
        "added_rows": [{"category": "巡察反馈", "text": "2025年5月巡察反馈2项工程没有经过集体研究", "source": "巡察反馈第1条"}],
        "deleted_rows": [],
    }
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception and not at.error
    assert any("已保存，共 2 条事实" in s.value for s in at.success)
    state = saved_state(at)
    assert [(f.id, f.category, f.text) for f in state.facts] == [
        ("F1", "政治", "2025年中心组集中学习只开了8次，我缺席2次"),
        ("F2", "巡察反馈", "2025年5月巡察反馈2项工程没有经过集体研究"),
    ]
    loaded = load_facts(to_yaml(state))  # what the download button offers
    assert loaded.writer.role == "副局长，分管项目建设" and len(loaded.facts) == 2
    assert any(s.value == "已采集的事实（2 条）" for s in at.subheader)


def test_bad_table_edit_is_a_chinese_error_and_keeps_the_facts():
    at = interview_mode()
    say(at, "班子", "2025", "岚溪县农业农村局领导班子", *SKIP_PREP, STUDY)
    at.session_state[editor_key(at)] = {"edited_rows": {0: {"id": "第一条!"}}, "added_rows": [], "deleted_rows": []}
    next(b for b in at.button if b.label == "保存修改").click().run()
    assert not at.exception
    assert any("第1行事实的编号填写有误" in e.value for e in at.error)
    assert [f.id for f in saved_state(at).facts] == ["F1"]


def test_draft_from_the_interview_facts_uses_the_drafting_flow():
    at = interview_mode()
    say(at, "班子", "2025", "岚溪县农业农村局领导班子", "学习研讨4次，谈心谈话15人次", "征求意见9条", "2026年1月22日",
        STUDY, "结束")
    assert any("会前准备：学习研讨4次、谈心谈话15人次、征求意见9条；会议日期：2026年1月22日" in c.value for c in at.caption)
    assert not any(b.key == "generate" for b in at.button)  # the interview has its own button
    at.button(key="interview_draft").click().run()
    assert not at.exception and not at.error
    [saved] = DraftStore().list_drafts()
    assert saved.versions == 1 and saved.title.startswith("岚溪县农业农村局领导班子")
    markdown = DraftStore().get_version(saved.id).markdown
    assert "中心组集中学习" in markdown
    assert "会前开展学习研讨4次、谈心谈话15人次、征求意见建议9条" in markdown  # the opening has no gaps
    facts = load_facts(DraftStore().get_draft(saved.id).facts_json, fmt="json")
    assert facts.meeting_date.isoformat() == "2026-01-22" and facts.preparation.opinions == 9
    assert any(s.value == "草稿（第1版）" for s in at.subheader)
    assert any(m.label == "批改得分" for m in at.metric)
    linked = DraftStore().interview_for_draft(saved.id)
    assert linked is not None and str(linked[0]) == param(at, "interview")
    assert param(at, "draft") == str(saved.id)


def test_restart_begins_a_new_interview():
    at = interview_mode()
    say(at, "班子")
    first = param(at, "interview")
    at.button(key="interview_restart").click().run()
    assert not at.exception
    assert param(at, "interview") != first
    assert len(chat_texts(at)) == 2  # intro and the first question only


def progress_text(at: AppTest) -> str:
    [bar] = at.get("progress")
    return bar.proto.text


def test_progress_after_stopping_early_tells_how_many_aspects_were_asked():
    at = interview_mode()
    say(at, "班子", "2025", "岚溪县农业农村局领导班子", *SKIP_PREP, STUDY, "下一个")
    assert progress_text(at) == "检视方面 1/7"
    say(at, "党性修养还需要进一步加强", "结束")  # the 2nd aspect answered (vague, kept), then stop
    assert saved_state(at).done
    assert progress_text(at) == "检视方面 2/7（提前结束）"


def test_a_saved_draft_opens_with_the_interview_it_was_written_from():
    at = interview_mode()
    say(at, "班子", "2025", "岚溪县农业农村局领导班子", "4、15、9", "跳过", STUDY, "结束")
    at.button(key="interview_draft").click().run()
    [saved] = DraftStore().list_drafts()
    first, chat = param(at, "interview"), chat_texts(at)

    later = interview_mode()  # another session, busy with a new interview
    assert param(later, "interview") != first and len(chat_texts(later)) == 2
    later.button(key="open_saved").click().run()
    assert not later.exception and not later.error
    assert param(later, "draft") == str(saved.id) and param(later, "interview") == first
    assert later.radio(key="facts_source").value == "对话采集事实"
    assert chat_texts(later) == chat  # the chat it was written from, not the new one
    assert any(s.value == "草稿（第1版）" for s in later.subheader)
    assert [t.value for t in later.toast] == ["已打开起草这份草稿时的对话采集记录，可以接着修改事实或重新起草。"]

    plain = draft_page().run()  # from the 示例材料 source: the interview's chat is opened too
    plain.button(key="open_saved").click().run()
    assert plain.radio(key="facts_source").value == "对话采集事实" and chat_texts(plain) == chat
