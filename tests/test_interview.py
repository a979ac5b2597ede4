"""The chat interview that gathers facts (rag.interview) and its persistence in the draft store."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest

from rag.critic.predicates import anchored
from rag.draft.assemble import write_opening
from rag.draft.facts import load_facts
from rag.errors import InputError, StoreError
from rag.frames import get_frame
from rag.interview import (
    InterviewState,
    answer,
    current_topic,
    load_questions,
    parse_meeting_date,
    parse_preparation,
    preparation_summary,
    progress,
    start,
    state_from_json,
    to_unit_facts,
    to_yaml,
    with_facts,
)
from rag.store import DraftStore

Q = load_questions()
FRAME_2025 = get_frame("2025-minzhu-wugedaitou")
STUDY = "2025年中心组集中学习计划12次，实际开了8次，其中3次只传达文件没有研讨。来源：中心组学习记录"
VAGUE = "党性修养还需要进一步加强"
SPECIFIC = "2025年支部开了10次主题党日，我只参加了4次"
FIGURES = "学习研讨4次，谈心谈话15人次，征求意见9条"
SKIP_PREP = ("跳过", "跳过")  # the preparation figures and the meeting date


def run(state: InterviewState, *replies: str) -> InterviewState:
    for reply in replies:
        state = answer(state, reply)
    return state


def last(state: InterviewState):
    return state.messages[-1]


def banzi_2025() -> InterviewState:
    """Through the meeting questions by chat: 班子, 2025, a unit (no preparation figures, no date)."""
    return run(start(), "班子", "2025", "岚溪县农业农村局领导班子", *SKIP_PREP)


# ------------------------------------------------------------------------------ the question bank

def test_every_kind_has_a_concrete_good_example_and_a_vague_bad_one():
    for kind in [*Q.kinds, Q.generic]:
        assert anchored(kind.good), kind.kind
        assert not anchored(kind.bad), kind.kind
        if not kind.section:
            assert "{aspect}" in kind.ask and "{role}" in kind.ask, kind.kind


def test_aspects_are_matched_to_question_kinds_by_keywords_with_a_generic_fallback():
    state = run(start(meeting_type="班子", unit="某局领导班子"), "2025", *SKIP_PREP)
    kinds = {t.name: (t.kind, t.category) for t in state.topics}
    assert kinds["在强化政治忠诚、提高政治能力上带头"] == ("政治", "政治")
    assert kinds["在干事创业、担当作为上带头"] == ("担当", "担当")
    assert kinds["在坚决扛起管党治党责任上带头"] == ("管党治党", "管党治党")  # the frame map's first choice
    assert [t.name for t in state.topics if t.section] == ["上年度整改", "反面典型案例剖析"]
    old = run(start(meeting_type="支部", frame_id="2021-zuzhi-sigeduizhao", unit="某支部委员会"), *SKIP_PREP)
    generic = next(t for t in old.topics if "革命先辈" in t.name)
    assert generic.kind == "通用"
    assert Q.kind_for("对照革命先辈和先进典型") is Q.generic


# ------------------------------------------------------------------------------ the flow

def test_full_flow_meeting_questions_then_every_aspect_then_sections():
    state = start()
    assert state.stage == "meeting" and state.meeting_step == "meeting_type"
    state = answer(state, "个人")
    assert state.meeting_step == "frame"
    assert "1. 2025年度民主生活会（五个带头）" in last(state).text  # the menu of frames for 个人
    state = run(state, "2025年度", "岚溪县农业农村局")
    assert state.meeting_step == "writer_role"  # asked only for 个人 materials
    state = answer(state, "副局长，分管办公室、财务和项目建设")
    assert state.meeting_step == "preparation" and "学习研讨4次，谈心谈话15人次，征求意见9条" in last(state).text
    state = answer(state, FIGURES)
    assert state.meeting_step == "meeting_date" and "会议定在哪一天" in last(state).text
    state = answer(state, "2026年1月22日")
    assert (state.meeting_type, state.year, state.frame_id) == ("个人", 2025, "2025-minzhu-wugedaitou")
    assert state.stage == "topics" and current_topic(state).name == FRAME_2025.aspects[0].name
    assert "（1/7）" in last(state).text and "你本人当时负责什么" in last(state).text

    replies = [
        STUDY,
        SPECIFIC,
        "2025年我局收到群众来电46件，其中11件超过15个工作日才答复，我分管信访没有督办",
        "高标准农田项目计划建成8000亩，11月底只完成5200亩",
        "2025年4月审计反馈二级单位5笔采购没有比价，我没有组织复查",
        "2024年度整改措施11项，已完成9项，来源：整改台账",
        "2025年6月市纪委监委通报邻县某局原副局长受贿被开除党籍",
    ]
    for i, reply in enumerate(replies):
        assert current_topic(state) is not None and state.topic_index == i
        state = answer(state, reply)
        assert state.phase == "more" and "还有别的事例吗" in last(state).text
        state = answer(state, "下一个")
    assert state.done and progress(state) == (7, 7)
    assert "共记下7条事实" in last(state).text

    facts = to_unit_facts(state)
    assert facts.meeting_type == "个人" and facts.writer.role.startswith("副局长")
    assert facts.preparation.model_dump() == {"study_sessions": 4, "talks": 15, "opinions": 9}
    assert facts.meeting_date == dt.date(2026, 1, 22)
    assert [f.id for f in facts.facts] == [f"F{i}" for i in range(1, 8)]
    first = facts.facts[0]
    assert first.aspect == FRAME_2025.aspects[0].name and first.category == "政治"
    assert first.source == "中心组学习记录" and "来源" not in first.text  # the source is split off
    assert [f.aspect for f in facts.facts[:5]] == [a.name for a in FRAME_2025.aspects]
    assert [f.category for f in facts.facts[5:]] == ["上年度整改", "典型案例"]
    assert facts.facts[5].aspect is None and facts.facts[5].source == "整改台账"


def test_banzi_material_does_not_ask_for_the_writer():
    state = banzi_2025()
    assert state.writer_role is None and state.stage == "topics"
    assert "班子（或哪位班子成员）" in last(state).text


def test_several_instances_under_one_aspect_up_to_the_limit():
    state = answer(banzi_2025(), STUDY)
    state = answer(state, "2025年7月读书班安排5天，实际只办了2天")
    assert state.topic_index == 0 and state.phase == "more"
    state = answer(state, "2025年9月专题研讨有6名班子成员只念了稿子")
    assert len(state.facts) == Q.max_facts_per_aspect == 3
    assert state.topic_index == 1 and state.phase == "ask"  # the limit moves on by itself
    assert {f.aspect for f in state.facts} == {FRAME_2025.aspects[0].name}


def test_frames_by_menu_number_and_by_special_name():
    state = run(start(), "个人", "99")
    assert state.meeting_step == "frame" and last(state).kind == "error" and "没有第99项" in last(state).text
    state = run(start(), "班子", "主题教育专题")
    assert state.frame_id == "2023-zhuti-jiaoyu" and state.year == 2023
    state = run(start(), "支部", "1")
    assert state.frame_id and "支部" in get_frame(state.frame_id).meeting_types


# ------------------------------------------------------------------------------ vague answers, skip, stop

def test_vague_answer_gets_exactly_one_follow_up():
    state = run(banzi_2025(), "下一个")  # skip to the 党性 aspect
    before = len(state.facts)
    state = answer(state, VAGUE)
    assert state.phase == "follow_up" and len(state.facts) == before
    assert "还比较笼统" in last(state).text and "班子（或哪位班子成员）" in last(state).text
    state = answer(state, "以普通党员身份参加支部活动偏少")  # still vague: recorded, not asked again
    assert state.phase == "more"
    assert sum("还比较笼统" in m.text for m in state.messages) == 1
    fact = state.facts[-1]
    assert fact.text == f"{VAGUE}；以普通党员身份参加支部活动偏少"
    assert fact.aspect == FRAME_2025.aspects[1].name
    assert any("仍然没有具体事例" in m.text for m in state.messages)


def test_follow_up_with_the_instance_is_joined_to_the_first_answer():
    state = run(banzi_2025(), "下一个", VAGUE, SPECIFIC)
    assert state.facts[-1].text == f"{VAGUE}；{SPECIFIC}"
    assert not any("仍然没有具体事例" in m.text for m in state.messages)


def test_concrete_answer_gets_no_follow_up():
    state = answer(banzi_2025(), STUDY)
    assert not any("还比较笼统" in m.text for m in state.messages)
    assert len(state.facts) == 1


def test_skip_moves_on_without_a_fact():
    state = answer(banzi_2025(), "跳过")
    assert state.skipped == [FRAME_2025.aspects[0].name]
    assert state.topic_index == 1 and not state.facts
    assert "（2/7）" in last(state).text
    state = run(state, VAGUE, "跳过。")  # skipping the follow-up drops the vague answer
    assert not state.facts and state.topic_index == 2
    assert state.skipped == [a.name for a in FRAME_2025.aspects[:2]]


def test_stop_early_keeps_what_was_said():
    state = run(banzi_2025(), STUDY, "下一个", VAGUE, "结束")
    assert state.done
    assert [f.text for f in state.facts] == [STUDY.split("。来源")[0] + "。", VAGUE]  # the pending answer is kept
    assert "没来得及问" in last(state).text
    assert len(to_unit_facts(state).facts) == 2


def test_stop_before_any_fact_cannot_be_drafted():
    state = run(start(), "班子", "结束")
    assert state.done and "不能起草" in last(state).text
    with pytest.raises(InputError, match="会议信息还没有问完：缺少年度或专题、单位"):
        to_unit_facts(state)
    state = run(banzi_2025(), "就到这里")
    with pytest.raises(InputError, match="还没有记下任何事实"):
        to_unit_facts(state)


# ------------------------------------------------------------------------------ results and persistence

def test_yaml_export_loads_back_with_load_facts(tmp_path):
    state = run(start(), "个人", "2024", "河亭县市场监管局", "副局长，分管食品安全", "学习研讨5次、谈心谈话21人次",
                "跳过", "1月21日")
    state = run(state, STUDY, "下一个", "开会时有人说：“作风问题”要改：2025年检查4次", "结束")
    text = to_yaml(state)
    assert text.startswith("# 事实材料：河亭县市场监管局")
    expected = to_unit_facts(state)
    assert load_facts(text) == expected
    path = tmp_path / "事实.yaml"
    path.write_text(text, encoding="utf-8")
    loaded = load_facts(path)
    assert loaded == expected and loaded.frame_id == "2024-minzhu-sigedaitou"
    assert loaded.facts[1].text == "开会时有人说：“作风问题”要改：2025年检查4次"
    assert "preparation:\n  study_sessions: 5\n  talks: 21\n" in text and "opinions" not in text
    assert "meeting_date: '2025-01-21'" in text and loaded.meeting_date == dt.date(2025, 1, 21)


def test_state_round_trips_through_json_and_answer_does_not_mutate():
    state = banzi_2025()
    frozen = state.model_dump_json()
    after = answer(state, VAGUE)
    assert state.model_dump_json() == frozen
    restored = state_from_json(after.model_dump_json())
    assert restored == after
    assert answer(restored, SPECIFIC).facts[-1].text == f"{VAGUE}；{SPECIFIC}"  # the follow-up survives a reload
    with pytest.raises(InputError, match="已损坏"):
        state_from_json("{not json")


def test_edited_table_rows_replace_the_facts():
    state = answer(banzi_2025(), STUDY)
    rows = [
        {"id": "F1", "category": "学习", "text": "2025年中心组学习开了8次", "source": "学习记录", "aspect": "强化政治忠诚"},
        {"id": None, "category": "巡察反馈", "text": "2025年5月巡察反馈2项工程未经集体研究", "source": ""},
        {"id": "F9", "category": "其他", "text": "  ", "source": "空行会被删掉"},
    ]
    new = with_facts(state, rows)
    assert [f.id for f in new.facts] == ["F1", "F2"]
    assert new.facts[0].text == "2025年中心组学习开了8次" and new.facts[1].category == "巡察反馈"
    assert state.facts[0].text.startswith("2025年中心组集中学习")  # the old state is untouched
    with pytest.raises(InputError, match="第1行事实的类别"):
        with_facts(state, [{"id": "F1", "category": "随便", "text": "2025年开会3次"}])
    with pytest.raises(InputError, match="第2行的编号“F1”和前面重复了"):
        with_facts(state, [{"id": "F1", "text": "a 1次"}, {"id": "F1", "text": "b 2次"}])


def test_store_keeps_interviews_and_links_them_to_drafts(tmp_path):
    store = DraftStore(tmp_path / "drafts.sqlite")
    state = banzi_2025()
    iid = store.create_interview(state.model_dump_json())
    later = answer(state, STUDY)
    store.save_interview(iid, later.model_dump_json())
    assert state_from_json(store.get_interview(iid)) == later
    draft_id = store.create_draft("某草稿", "{}")
    assert store.interview_for_draft(draft_id) is None
    store.save_interview(iid, later.model_dump_json(), draft_id=draft_id)
    assert store.interview_for_draft(draft_id) == (iid, later.model_dump_json())
    store.delete_draft(draft_id)  # the interview stays, unlinked
    assert store.interview_for_draft(draft_id) is None and store.get_interview(iid)
    with pytest.raises(StoreError, match="找不到编号为 999 的对话记录"):
        store.get_interview(999)
    with pytest.raises(StoreError):
        store.save_interview(999, "{}")


def test_store_made_before_interviews_existed_gets_the_table(tmp_path):
    path = tmp_path / "old.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE drafts (id INTEGER PRIMARY KEY AUTOINCREMENT, title TEXT NOT NULL, facts_json TEXT "
                 "NOT NULL, created_at TEXT NOT NULL, updated_at TEXT NOT NULL, seq INTEGER NOT NULL DEFAULT 0)")
    conn.execute("INSERT INTO drafts (title, facts_json, created_at, updated_at) VALUES ('旧草稿', '{}', 'x', 'x')")
    conn.commit()
    conn.close()
    store = DraftStore(path)
    assert [d.title for d in store.list_drafts()] == ["旧草稿"]
    iid = store.create_interview("{}", draft_id=1)
    assert store.interview_for_draft(1) == (iid, "{}")


# ------------------------------------------------------------------------------ bad input

def test_empty_and_overlong_replies_are_refused_and_the_question_stays():
    state = start()
    for bad in ("", "   ", "字" * 2001):
        after = answer(state, bad)
        assert after.meeting_step == "meeting_type" and after.stage == "meeting"
        assert last(after).kind == "error" and last(after).role == "assistant"
    assert "回答是空的" in last(answer(state, "")).text
    assert "太长了" in last(answer(state, "字" * 2001)).text
    assert not any(m.role == "user" for m in answer(state, "").messages)


@pytest.mark.parametrize(
    ("replies", "step", "message", "fix"),
    [
        (["说不清"], "meeting_type", "没有看出是哪种材料", "支部"),
        (["跳过"], "meeting_type", "材料类型不能跳过", "班子"),
        (["班子", "1999"], "frame", "年度应在2015年到2035年之间", "2025"),
        (["班子", "2019"], "frame", "没有找到2019年度适用于班子材料的检视框架", "2024年度"),
        (["班子", "随便哪年"], "frame", "没有看懂", "1"),
        (["班子", "2025", "局"], "unit", "单位名称太短", "岚溪县农业农村局领导班子"),
        (["班子", "2025", "跳过"], "unit", "单位不能跳过", "岚溪县农业农村局领导班子"),
        (["个人", "2025", "某局", "跳过"], "writer_role", "个人材料必须写明撰写人的职务和分工", "副局长"),
        (["班子", "2025", "某局领导班子", "开了不少会"], "preparation", "没有看出会前准备的数字", "4、15、9"),
        (["班子", "2025", "某局领导班子", "谈心谈话200000人次"], "preparation", "这个数字太大了", "跳过"),
        (["班子", "2025", "某局领导班子", "跳过", "下个月"], "meeting_date", "没有看出会议日期", "2026年1月22日"),
        (["班子", "2025", "某局领导班子", "跳过", "2030年1月5日"], "meeting_date", "和2025年度对不上", "1月22日"),
        (["班子", "2025", "某局领导班子", "跳过", "2026年2月30日"], "meeting_date", "不是有效的日期", "跳过"),
    ],
)
def test_bad_meeting_answers_get_chinese_messages_and_the_question_again(replies, step, message, fix):
    state = run(start(), *replies)
    assert state.stage == "meeting" and state.meeting_step == step
    assert last(state).kind == "error" and message in last(state).text
    fixed = answer(state, fix)
    assert last(fixed).kind != "error"
    assert fixed.meeting_step != step  # the right answer moves on


def test_reply_after_the_end_is_refused():
    state = run(banzi_2025(), "结束")
    again = answer(state, STUDY)
    assert last(again).kind == "error" and "已经结束" in last(again).text
    assert again.facts == state.facts


def test_start_checks_the_answers_it_is_given():
    with pytest.raises(InputError, match="材料类型只能是"):
        start(meeting_type="全体")
    with pytest.raises(InputError, match="年度应在2015年到2035年之间"):
        start(year=1990)
    with pytest.raises(InputError, match="找不到年度框架"):
        start(frame_id="no-such-frame")
    state = start(meeting_type="班子", year=2024, unit="河亭县卫健委领导班子")
    assert state.meeting_step == "preparation" and state.frame_id == "2024-minzhu-sigedaitou"
    assert not any(m.text.startswith("这次要写哪一种材料") for m in state.messages)
    assert run(state, *SKIP_PREP).stage == "topics"


# ------------------------------------------------------------------------------ preparation figures and date

@pytest.mark.parametrize(
    ("reply", "missing", "found", "unclear"),
    [
        ("学习研讨4次，谈心谈话15人次，征求意见9条", None, {"study_sessions": 4, "talks": 15, "opinions": 9}, []),
        ("4、15、9", None, {"study_sessions": 4, "talks": 15, "opinions": 9}, []),
        ("开展集中学习研讨六次；征求意见建议二十条", None, {"study_sessions": 6, "opinions": 20}, []),
        ("2025年中心组学习研讨5次，谈话46人次", None, {"study_sessions": 5, "talks": 46}, []),  # 2025年 is no figure
        ("征求到38条，谈心谈话没统计", None, {"opinions": 38}, ["谈心谈话没统计"]),
        ("9条", ["opinions"], {"opinions": 9}, []),
        ("9", ["opinions"], {"opinions": 9}, []),  # a bare number when only one figure is missing
        ("9", None, {}, ["9"]),  # …but not when it could be any of three
        ("开了不少会", None, {}, []),
    ],
)
def test_preparation_figures_are_parsed_from_a_free_answer(reply, missing, found, unclear):
    assert parse_preparation(reply, missing) == (found, unclear)


def test_missing_figures_get_a_follow_up_naming_them_and_may_be_skipped():
    state = run(start(), "班子", "2025", "岚溪县农业农村局领导班子", "学习研讨4次，谈心谈话没统计")
    assert state.meeting_step == "preparation" and last(state).kind == "question"
    assert last(state).text == ("记下了：学习研讨4次。“谈心谈话没统计”没有看出是哪一项。还差谈心谈话人次、征求意见条数。"
                                "请补上，例如“谈心谈话15人次、征求意见9条”；没有统计可以回答“跳过”，"
                                "起草时材料开头会留下【请补充】标记。")
    state = answer(state, "征求意见9条")
    assert state.meeting_step == "preparation" and "还差谈心谈话人次。" in last(state).text
    state = answer(state, "跳过")
    assert state.meeting_step == "meeting_date"
    assert any(m.text == "好的，谈心谈话的数字先空着，起草时材料开头会留下【请补充】标记。" for m in state.messages)
    state = run(state, "1月22日")  # an annual meeting is held early in the next year
    assert state.meeting_date == dt.date(2026, 1, 22) and state.stage == "topics"
    assert state.preparation.model_dump() == {"study_sessions": 4, "talks": None, "opinions": 9}
    assert preparation_summary(state) == "会前准备：学习研讨4次、谈心谈话（未填）、征求意见9条；会议日期：2026年1月22日"
    state = run(state, STUDY, "结束")
    assert "会前准备还缺：谈心谈话人次（材料开头会留下【请补充】标记）。" in last(state).text


def test_meeting_date_without_a_year():
    assert parse_meeting_date("定在1月22日上午", 2025) == dt.date(2026, 1, 22)
    assert parse_meeting_date("12月28日", 2025) == dt.date(2025, 12, 28)
    assert parse_meeting_date("3月5日", 2026, special=True) == dt.date(2026, 3, 5)  # a 专题 meeting: that year
    assert parse_meeting_date("2026-01-20", 2025) == dt.date(2026, 1, 20)


def test_gathered_figures_fill_the_drafts_opening():
    state = run(start(), "班子", "2025", "岚溪县农业农村局领导班子", FIGURES, "2026年1月22日", STUDY, "结束")
    facts = to_unit_facts(state)
    opening = write_opening(facts, FRAME_2025).text
    assert "会前开展学习研讨4次、谈心谈话15人次、征求意见建议9条" in opening
    assert "请补充" not in opening
    skipped = write_opening(to_unit_facts(run(banzi_2025(), STUDY, "结束")), FRAME_2025).text
    assert skipped.count("【请补充") == 3  # skipped: the gaps stay, nothing is made up


def test_progress_after_stopping_early_counts_only_the_aspects_reached():
    state = banzi_2025()
    assert progress(state) == (0, 7)
    state = run(state, STUDY, "下一个", VAGUE)
    assert progress(state) == (1, 7)  # the second aspect is being answered
    stopped = answer(state, "结束")
    assert stopped.done and progress(stopped) == (2, 7)  # two aspects asked and answered, not 7/7
    unanswered = run(banzi_2025(), STUDY, "下一个", "结束")  # stopped at the second question, unanswered
    assert progress(unanswered) == (1, 7)
    assert progress(run(start(), "班子", "结束")) == (0, 0)
