"""Drafting pipeline with a scripted model: what is asked, what is kept, what is checked, the guard, revisions.

The model is a FakeChatModel with a queue of plain-text answers (one small job per call, in the order the
pipeline asks: every problem's 定性, then each cause's reason, then each measure's action, then the case
lesson). The embedder is the deterministic FakeEmbedder unless a test needs the real one.
"""

from __future__ import annotations

import datetime as dt

import pytest

from rag.draft.facts import facts_from_dict, load_facts
from rag.draft.pipeline import (
    DraftInterrupted,
    apply_instruction,
    draft_from_facts,
    target_of,
)
from rag.draft.plan import plan_facts, resolve_frame
from rag.draft.render import to_markdown
from rag.embed import FakeEmbedder
from rag.errors import InputError, LLMError
from rag.evals.scripted import ScriptedChatModel
from rag.llm.fake import FakeChatModel

EMB = FakeEmbedder()
# mini.yaml: F1 (征求意见, a complaint, 48场/19场), F2 (巡察反馈), F3 (上年度整改, 12 of 14 done), F4 (典型案例)
HEADINGS = ["送戏下乡排期贴近群众还不够", "对下属公司的监督存在缺位"]
REASONS = ["班子把完成演出场次看得比群众满意更重，安排演出时没有先问群众", "班子认为下属公司自己会管好，对三重一大事项管得松"]
ACTIONS = ["调整送戏下乡排期，农忙时节不安排演出", "下属文旅公司三重一大事项一律经过集体研究再办",
           "印发文物安全巡查责任清单，逐项落实"]
LESSON = "对照这一案例，班子对下属文旅公司工程项目的监督同样存在漏洞，要以案为鉴，把工程招标的口子扎紧"
ANSWERS = [*HEADINGS, *REASONS, *ACTIONS, LESSON]


@pytest.fixture
def facts():
    return load_facts("examples/facts/mini.yaml")


def model(*answers: str | Exception) -> FakeChatModel:
    return FakeChatModel(strict=True).queue(*(answers or ANSWERS))


def draft(facts, m=None, **kw):
    return draft_from_facts(facts, m or model(), embedder=EMB, **kw)


# -- planning ------------------------------------------------------------------------------------

def _facts(items, **extra):
    base = {"unit": "某县民政局领导班子", "meeting_type": "班子", "year": 2025, "meeting_date": "2026-01-20",
            "facts": items}
    return facts_from_dict({**base, **extra})


def test_plan_fills_an_aspect_from_a_fact_that_fits_it_and_says_what_would_fill_a_gap():
    facts = _facts([
        {"id": "F1", "category": "学习", "text": "2025年中心组学习10次，其中6次以传达文件为主。"},
        {"id": "F2", "category": "纪律", "text": "2025年6月1名班子成员接受服务对象宴请，受到诫勉。"},
        {"id": "F3", "category": "纪律", "text": "公务用车使用登记不全4处。"},
        {"id": "F4", "category": "担当", "text": "2025年计划改造养老院6所，完成4所。"},
    ])
    frame = resolve_frame(facts)
    plan = plan_facts(facts, frame)
    where = {p.fact_id: p.aspect for p in plan.placements}
    assert where["F1"] == "在强化政治忠诚、提高政治能力上带头" and where["F4"] == "在干事创业、担当作为上带头"
    # two 纪律 facts: one stays under 敬畏法纪, the other fills 管党治党 (the map lists it second)
    assert {where["F2"], where["F3"]} == {"在敬畏人民、敬畏组织、敬畏法纪上带头", "在坚决扛起管党治党责任上带头"}
    assert list(plan.gaps) == ["在固本培元、增强党性上带头"]  # no fact fits 增强党性
    assert "党性" in plan.gaps["在固本培元、增强党性上带头"]  # the categories that would fill it


def test_plan_sets_special_facts_aside(facts):
    plan = plan_facts(facts, resolve_frame(facts))
    assert plan.rectification == ["F3"] and plan.case == ["F4"]
    assert plan.by_aspect["在敬畏人民、敬畏组织、敬畏法纪上带头"] == ["F1"]
    assert plan.by_aspect["在坚决扛起管党治党责任上带头"] == ["F2"]


def test_a_notified_case_of_another_unit_serves_only_the_case_part():
    facts = _facts([
        {"id": "F1", "category": "纪律", "text": "2025年8月县纪委通报：邻县某局原科长违规收受礼金，受到开除党籍处分。"},
        {"id": "F2", "category": "学习", "text": "2025年中心组学习10次，其中6次以传达文件为主。"},
    ])
    plan = plan_facts(facts, resolve_frame(facts))
    assert plan.case == ["F1"] and all("F1" not in ids for ids in plan.by_aspect.values())


# -- problems ------------------------------------------------------------------------------------

def test_problems_open_with_the_models_dingxing_then_the_fact_in_the_writers_voice(facts):
    d = draft(facts)
    items = [it for it in d.part("problems").items if not it.gap]
    assert [it.heading for it in items] == HEADINGS
    first = items[0].text
    assert first.startswith("送戏下乡排期贴近群众还不够。2025年“送戏下乡”演出48场")
    assert first.endswith("乡镇综合文化站反映了这一问题。")  # the complaint kept as the evidence, at the end
    assert d.stats["answers"]["heading"] == {"accepted": 2, "rejected": 0}


def test_a_rejected_dingxing_is_asked_again_then_the_bank_is_used(facts):
    m = model("2025年演出48场", "送戏下乡", HEADINGS[1], *REASONS, *ACTIONS, LESSON)  # a number, too short
    d = draft(facts, m)
    items = [it for it in d.part("problems").items if not it.gap]
    assert items[0].heading == "回应群众关切还不够及时"  # the bank's 定性 for 征求意见
    assert items[1].heading == HEADINGS[1]
    assert d.stats["answers"]["heading"] == {"accepted": 1, "rejected": 2}
    first, second = m.history[0], m.history[1]
    assert first[-1].content == second[-1].content  # the same fact asked again…
    assert [x.content for x in first[1:-1]] != [x.content for x in second[1:-1]]  # …with other examples
    assert m.calls[0]["temperature"] == 0.0 and m.calls[1]["temperature"] > 0


def test_gap_aspects_say_which_facts_would_fill_them(facts):
    text = to_markdown(draft(facts))
    assert "【请补充：强化政治忠诚、提高政治能力方面的具体事例（时间、事件、数字，如学习、政治方面的事实）】" in text


# -- causes --------------------------------------------------------------------------------------

def test_causes_name_root_problems_and_the_models_reason(facts):
    d = draft(facts)
    causes = d.part("causes").items
    assert len(causes) == 2 and not any(c.gap for c in causes)
    assert REASONS[0] in causes[0].text and "送戏下乡排期贴近群众还不够的问题，根子就在这里" in causes[0].text
    assert causes[0].problem_ids == ["P1"] and causes[0].root


def test_a_cause_that_blames_others_or_lists_problems_falls_back_to_a_checked_bank_reason_or_the_template(facts):
    blame = "一些员工对工作的重要性认识不足"
    listing = "送戏下乡排期贴近群众还不够等问题，说明宗旨意识不强"
    m = model(*HEADINGS, blame, listing, REASONS[1], *ACTIONS, LESSON)  # 2 tries for the first cause, no adaptation
    d = draft(facts, m)
    first = d.part("causes").items[0]
    text = to_markdown(d)
    assert blame not in text and "说明宗旨意识不强" not in text
    from rag.draft.assemble import GENERIC_REASON
    from rag.draft.bank import root
    from rag.draft.causes import reason_problem

    r = root(first.root)
    template = r.template.split("{who}")[-1][:8]  # the template's own words
    stock = [e.reason for e in r.examples("班子")]
    assert not first.gap and first.to_confirm == [GENERIC_REASON]
    assert template in first.text or any(x in first.text for x in stock)
    placed = next(x for x in stock + [r.template.format(who="班子")] if x in first.text)
    facts_text = "。".join(f.text for f in facts.facts)
    assert reason_problem(placed, [], [], "班子", known=facts_text + r.title + r.description) is None
    from rag.draft.revise import choose_cause

    own = choose_cause(d, first.id, "班子把演出场次当成硬指标，没有把群众满意放在心上")
    assert "放在心上" in own.item(first.id).text
    assert placed in d.item(first.id).text  # the original draft is untouched


# -- measures ------------------------------------------------------------------------------------

def test_measures_get_targets_from_the_facts_deadlines_from_the_meeting_and_owners_by_category(facts):
    d = draft(facts)
    measures = d.part("measures").items
    assert len(measures) == 3  # two problems, one unfinished rectification
    assert measures[0].text.startswith("调整送戏下乡排期，农忙时节不安排演出")
    assert "由分管班子成员牵头、相关科室具体落实" in measures[1].text  # 巡察反馈
    assert "完成剩余2项整改事项" in measures[2].text  # 14 planned, 12 done
    assert "2026年3月底前" in measures[2].text  # the date the fact itself sets
    assert all("月底前" in m.text or "起长期坚持" in m.text for m in measures)
    rect = to_markdown(d).split("二、存在的问题")[0]
    assert "未完成的事项已列入本次整改措施" in rect


def test_a_claimed_result_or_a_date_in_the_action_is_rejected(facts):
    claimed = "考评办法已更新，职责问题已解决"
    dated = "2025年12月将相关问题整改完毕"
    m = model(*HEADINGS, *REASONS, claimed, dated, *ACTIONS[1:], LESSON)
    d = draft(facts, m)
    text = to_markdown(d)
    assert claimed not in text and dated not in text
    first = d.part("measures").items[0].text
    # no template text: the fallback is a visible gap that names the problem
    assert first.startswith("【请补充：针对“送戏下乡排期贴近群众还不够”的具体整改办法") and "逐项明确" not in first
    assert d.stats["answers"]["action"]["rejected"] == 2


def test_deadline_rolls_over_year():
    from rag.draft.measures import deadline

    assert deadline(dt.date(2026, 11, 20), 3) == "2027年2月底前"


# -- rendering, voice, frames ----------------------------------------------------------------------

def test_opening_names_every_aspect_without_doubling_words(facts):
    opening = to_markdown(draft(facts)).split("\n\n")[1]
    for label in ("强化政治忠诚、提高政治能力", "固本培元、增强党性", "坚决扛起管党治党责任"):
        assert label in opening
    assert "五个方面" in opening and "等方面" not in opening and "对照在" not in opening


def test_inline_special_frame_keeps_its_name_and_headings_are_not_doubled():
    facts = _facts(
        [{"id": "F1", "category": "管党治党", "text": "2025年支部对2名党员的苗头性问题没有及时提醒。"}],
        meeting_type="支部", unit="某公司工程部党支部",
        frame={"name": "2025年巡察整改专题组织生活会（两个方面）", "meeting": "专题组织生活会", "meeting_types": ["支部"],
               "years": [2025], "theme": "聚焦巡察反馈问题抓整改",
               "aspects": [{"name": "对照党章党规，查找支部政治功能方面的差距", "keywords": ["政治功能"]},
                           {"name": "对照群众期盼，查找服务群众方面的差距", "keywords": ["服务群众"]}]})
    d = draft(facts, ScriptedChatModel())
    text = to_markdown(d)
    assert d.title == "某公司工程部党支部2025年巡察整改专题组织生活会对照检查材料"
    assert "（一）对照党章党规，查找支部政治功能方面的差距\n" in text and "差距方面" not in text
    assert "对照对照" not in text and "方面方面" not in text
    assert "支部聚焦巡察反馈问题抓整改" in text and "班子" not in text.split("\n\n")[1]
    # a notice's aspects are clauses (对照…，查找…): the opening quotes them whole, none cut to “党章党规，查找…”
    assert "重点围绕“对照党章党规，查找支部政治功能”“对照群众期盼，查找服务群众”两个方面" in text


def test_a_personal_title_names_the_post():
    facts = load_facts("examples/facts/geren-2025-lanxi-fujuzhang.yaml")
    d = draft(facts, ScriptedChatModel())
    assert d.title.endswith("2025年度民主生活会个人对照检查材料") and facts.writer.role in d.title


# -- guard, faults, revisions ----------------------------------------------------------------------

def test_guard_replaces_what_the_facts_do_not_hold(facts):
    from rag.draft.pipeline import guard_text, make_run

    run = make_run(facts, FakeChatModel(), embedder=EMB)
    out = guard_text(run, "P1", "2025年“送戏下乡”演出48场，另有9场被取消，局长王建国未到场。")
    assert "48场" in out and "另有9场" not in out and "王建国" not in out and out.count("【待核实】") == 2
    assert [e.token for e in run.guard_events] == ["9场", "王建国"]


def test_interrupted_draft_keeps_what_was_written(facts, monkeypatch):
    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0")
    m = model(HEADINGS[0], *[ConnectionResetError("reset")] * 3)
    with pytest.raises(DraftInterrupted) as info:
        draft(facts, m)
    partial = to_markdown(info.value.partial)
    assert "无法连接模型服务" in info.value.message and "【未生成" in partial
    assert "演出48场" in partial  # the rectification and case parts from the facts stay too
    assert "2024年度民主生活会整改措施14项" in partial


def test_revision_instruction_targets_one_item(facts):
    d = draft(facts)
    target = target_of("第二个问题再具体一些", d)
    assert target is not None and target.heading == HEADINGS[1]
    m = FakeChatModel(strict=True).queue({"text": "下属文旅公司2项景区维护工程未经集体研究，另涉及99万元"})
    new = apply_instruction(d, "第二个问题再具体一些", facts, m)
    assert "再具体一些" in m.history[0][-1].content
    changed = new.item(target.id).text
    assert "2项景区维护工程" in changed and "99万元" not in changed and "【待核实】" in changed
    assert d.item(target.id).text != changed  # the earlier version is untouched


def test_empty_instruction_is_a_clear_error(facts):
    with pytest.raises(InputError):
        apply_instruction(draft(facts), "  ", facts, FakeChatModel())


def test_regenerate_measures_leaves_the_other_parts_and_the_original(facts):
    from rag.draft.revise import regenerate_part

    d = draft(facts)
    before = to_markdown(d)
    m = FakeChatModel(strict=True).queue("重排送戏下乡计划，避开农忙时节", "制定下属文旅公司重大事项集体研究办法",
                                         "印发文物安全巡查责任清单")
    new = regenerate_part(d, "measures", facts, m, instruction="措施写得更具体", embedder=EMB)
    assert to_markdown(d) == before
    assert "用户的修改要求：措施写得更具体" in m.history[0][0].content
    assert "避开农忙时节" in to_markdown(new)
    assert [it.text for it in new.part("problems").items] == [it.text for it in d.part("problems").items]
    with pytest.raises(InputError, match="不能重写"):
        regenerate_part(d, "opening", facts, FakeChatModel(strict=True))
    with pytest.raises(LLMError):
        regenerate_part(d, "causes", facts, FakeChatModel(strict=True).queue(*[ConnectionResetError()] * 9),
                        embedder=EMB)
    assert to_markdown(d) == before


def test_events_show_the_draft_part_by_part(facts):
    events = []
    d = draft(facts, on_event=lambda k, p: events.append((k, p)))
    kinds = [k for k, _ in events]
    assert kinds[0] == "draft" and kinds[-1] == "done"
    first_draft = events[0][1]
    assert "【正在撰写" in to_markdown(first_draft) and "2024年度民主生活会整改措施14项" in to_markdown(first_draft)
    assert {"status", "token", "part"} <= set(kinds)
    assert "【正在撰写" not in to_markdown(d)


# -- read-ahead and warm-up ------------------------------------------------------------------------

def test_read_ahead_sends_exactly_the_first_prompt_of_the_draft(facts):
    """The prompt read ahead (while the user looks over the facts) is the draft's first call, token
    for token, so the draft's first call finds it in the model's cache."""
    from rag.draft.pipeline import read_ahead
    from rag.llm import ChatLlamaCpp

    seen: list = []

    class Recorder(ChatLlamaCpp):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append((messages, kwargs))
            if len(seen) > 1:
                raise LLMError("停在第一次调用", "测试")
            return FakeChatModel()._generate(messages)

    rec = Recorder(model_path="/nonexistent.gguf")
    assert read_ahead(facts, rec, embedder=EMB) is True
    assert seen[0][1] == {"max_tokens": 1}
    with pytest.raises(DraftInterrupted):
        draft_from_facts(facts, rec, embedder=EMB)
    assert [m.content for m in seen[1][0]] == [m.content for m in seen[0][0]]
    assert "送戏下乡" in seen[0][0][-1].content  # the first fact, not only the shared instructions
    assert read_ahead(facts, FakeChatModel(strict=True)) is False


def test_warm_up_reads_the_first_steps_instructions_only():
    from rag.draft import prompting
    from rag.draft.pipeline import warm_up
    from rag.llm import ChatLlamaCpp

    seen: list = []

    class Recorder(ChatLlamaCpp):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append((messages, kwargs))
            return FakeChatModel()._generate(messages)

    assert warm_up(Recorder(model_path="/nonexistent.gguf"), "个人") is True
    (messages, kwargs), = seen
    assert [m.content for m in messages] == [prompting.render("heading", meeting_type="个人")]
    assert kwargs == {"max_tokens": 1}
    assert warm_up(FakeChatModel(strict=True)) is False


def test_a_model_whose_every_answer_is_unusable_stops_the_draft_with_a_clear_error(facts):
    with pytest.raises(DraftInterrupted) as info:
        draft(facts, FakeChatModel(strict=False))
    assert "连续 6 次不合格" in info.value.message and "对话模型" in info.value.hint


def test_profile_comes_from_the_setting_not_the_class(monkeypatch):
    from rag.config import Settings
    from rag.draft.profile import LARGE, SMALL, profile_for

    assert profile_for(Settings(llm="embedded")) is SMALL
    assert profile_for(Settings(llm="embedded", gguf="/models/qwen-7b.gguf")) is LARGE
    assert profile_for(Settings(llm="openai")) is LARGE
    assert profile_for(Settings(llm="openai", model_profile="small")) is SMALL
