"""Drafting pipeline with the fake model: what is sent, what is kept, the guard, revisions."""

from __future__ import annotations

import pytest

from rag.critic.engine import critique
from rag.draft.facts import load_facts
from rag.draft.pipeline import (
    DIMENSIONS,
    apply_instruction,
    deadline,
    draft_from_facts,
    plan,
    resolve_frame,
    target_of,
)
from rag.draft.render import to_markdown
from rag.errors import InputError, LLMError
from rag.llm.fake import FakeChatModel

P1 = {"items": [{"fact_ids": ["F1"], "summary": "对群众文化需求回应不精准",
                 "reflection": "另有3场被取消，反映出班子对群众需求了解不深"}]}
P2 = {"items": [{"fact_ids": ["F2", "F99"], "summary": "对下属公司监督缺位", "reflection": "管党治党责任没有压实"}]}
CAUSES = {"items": [{"problem_ids": ["P3"], "dimension": "宗旨意识", "text": "送戏下乡排期没有问群众，根子在把完成场次当成目标"},
                    {"problem_ids": ["P5"], "dimension": "纪律规矩意识", "text": "对三重一大事项监督缺位，纪律规矩意识不强"}]}
MEASURES = {"items": [{"problem_ids": ["P3"], "action": "调整送戏下乡排期，事先征求乡镇意见", "result": "每季度征求意见1次",
                       "owner": "分管副局长牵头"},
                      {"problem_ids": ["P5"], "action": "建立下属公司三重一大事项报备制度", "result": "形成报备清单", "owner": ""}]}


@pytest.fixture
def facts():
    return load_facts("examples/facts/mini.yaml")


def _model():
    return FakeChatModel(strict=True).queue(P1, P2, CAUSES, MEASURES)


def test_plan_uses_hints_and_sets_special_facts_aside(facts):
    by_aspect, special = plan(facts, resolve_frame(facts))
    assert [f.id for f in by_aspect["在敬畏人民、敬畏组织、敬畏法纪上带头"]] == ["F1"]
    assert [f.id for f in by_aspect["在坚决扛起管党治党责任上带头"]] == ["F2"]
    assert [f.id for f in special["rectification"]] == ["F3"]
    assert [f.id for f in special["case"]] == ["F4"]


def test_draft_structure_guard_and_gaps(facts):
    model, events = _model(), []
    draft = draft_from_facts(facts, model, on_event=lambda k, p: events.append(k))
    text = to_markdown(draft)
    # only the two aspects with facts were sent to the model, plus causes and measures
    assert len(model.history) == 4
    assert "F1" in model.history[0][-1].content and "F2" not in model.history[0][-1].content
    # the unsupported "3场" was replaced and recorded; supported numbers stay
    assert [e.token for e in draft.guard_events] == ["3场"]
    assert "【待核实】" in text and "48场" in text and "另有3场" not in text
    # aspects without facts became visible gaps, in frame order
    assert len([it for it in draft.part("problems").items if it.gap]) == 3
    assert text.index("上年度民主生活会整改落实情况") < text.index("存在的问题") < text.index("反面典型案例剖析")
    # invalid fact ids are dropped; deadlines derive from the meeting date (2026-01-15)
    assert draft.part("problems").items[4].fact_ids == ["F2"]
    assert "2026年2月底前" in text and "2026年3月底前" in text
    # no owner from the model: proposed from the problem's fact (F2, 巡察反馈), to be confirmed
    assert draft.part("measures").items[1].to_confirm[1] == "分管班子成员牵头、相关科室具体落实"
    assert {"status", "token", "part", "done"} <= set(events)
    assert draft.stats["fact_coverage"] == 1.0 and draft.stats["llm_calls"] == 4


def test_generated_draft_passes_critic_grounding(facts):
    draft = draft_from_facts(facts, _model())
    report = critique(to_markdown(draft), year=2025, meeting_type="班子", known_text=facts.known_text())
    assert not [f for f in report.findings if f.rule == "grounding.unsupported"]
    errors = [f for f in report.findings if f.level == "error"]
    assert all(f.rule == "placeholder.unfilled" and f.quote.startswith("【") for f in errors)


def test_garbage_twice_raises_chinese_error(facts):
    model = FakeChatModel(strict=True).queue("不是JSON", "还是不是")
    with pytest.raises(LLMError) as exc:
        draft_from_facts(facts, model)
    assert "无法解析" in exc.value.message


def test_revision_instruction_targets_one_item(facts):
    draft = draft_from_facts(facts, _model())
    target = target_of("第二个问题再具体一些", draft)
    assert target is not None and target.text.startswith("对下属公司监督缺位")
    model = FakeChatModel(strict=True).queue({"text": "下属文旅公司2项景区维护工程未经集体研究，另涉及99万元"})
    new = apply_instruction(draft, "第二个问题再具体一些", facts, model)
    assert "再具体一些" in model.history[0][-1].content
    changed = new.item(target.id).text
    assert "2项景区维护工程" in changed and "99万元" not in changed and "【待核实】" in changed
    assert draft.item(target.id).text != changed  # the earlier version is untouched


def test_empty_instruction_is_a_clear_error(facts):
    draft = draft_from_facts(facts, _model())
    with pytest.raises(InputError):
        apply_instruction(draft, "  ", facts, FakeChatModel())


def test_deadline_rolls_over_year():
    import datetime as dt

    assert deadline(dt.date(2026, 11, 20), 3) == "2027年2月底前"


# -- quality: causes, owners, links ------------------------------------------------------------------

def test_causes_one_per_dimension_and_no_repeats():
    from rag.draft.pipeline import merge_causes
    from rag.draft.schemas import CauseSlot

    slots = [
        CauseSlot(problem_ids=["P1"], dimension="宗旨意识", text="宗旨意识方面，排期没有先问群众，把完成场次当成了目标"),
        CauseSlot(problem_ids=["P2"], dimension="宗旨意识", text="对基层反映的意见没有及时研究"),
        CauseSlot(problem_ids=["P3"], dimension="党性修养", text="排期没有先问群众，把完成场次当成了目标。"),
        CauseSlot(problem_ids=["P9"], dimension="理想信念", text="学用脱节，把学习当成任务"),
        CauseSlot(problem_ids=["P2"], dimension="不存在的维度", text="对下属公司放任不管，监督责任没有扛起来"),
    ]
    out = merge_causes(slots, {"P1", "P2", "P3"})
    assert [d for d, _, _ in out] == ["宗旨意识", "理想信念", "党性修养"]
    dim, text, ids = out[0]
    assert text == "排期没有先问群众，把完成场次当成了目标"
    assert ids == ["P1", "P2", "P3"]
    assert out[1][2] == []  # unknown problem ids are dropped


@pytest.mark.parametrize(("raw", "meeting_type", "owner"), [
    ("由办公室", "班子", "办公室牵头"),
    ("分管领导", "班子", "分管领导牵头"),
    ("分管副局长牵头、办公室具体落实", "班子", "分管副局长牵头、办公室具体落实"),
    ("", "支部", "支部书记牵头、支部委员分工落实"),
    ("本人", "班子", "班子主要负责同志牵头、办公室具体落实"),
    ("办公室", "个人", "本人"),
])
def test_owner_phrasing(raw, meeting_type, owner):
    from rag.draft.pipeline import owner_of

    assert owner_of(raw, meeting_type) == owner


def test_measure_text_reads_naturally():
    from rag.draft.pipeline import measure_text

    assert measure_text("建立群众诉求台账。", "每月通报1次", "办公室牵头", "2026年2月底前") == (
        "由办公室牵头，建立群众诉求台账，每月通报1次，2026年2月底前完成。")
    assert measure_text("由分管领导牵头，修订制度", "形成制度1项", "分管领导牵头", "2026年3月底前").startswith(
        "由分管领导牵头，修订制度，")
    assert measure_text("我每月到联系村走访1次", "形成走访记录", "本人", "2026年6月底前") == (
        "本人每月到联系村走访1次，形成走访记录，2026年6月底前完成。")


def test_every_problem_gets_a_measure_or_a_gap(facts):
    one = {"items": [MEASURES["items"][0], {**MEASURES["items"][0], "owner": "办公室"}]}  # a repeat, P5 uncovered
    draft = draft_from_facts(facts, FakeChatModel(strict=True).queue(P1, P2, CAUSES, one), max_rounds=0)
    measures = draft.part("measures").items
    assert [it.problem_ids for it in measures] == [["P3"], ["P5"]]
    assert not measures[0].gap and measures[0].text.startswith("由分管副局长牵头，调整送戏下乡排期")
    assert measures[1].gap and "对下属公司监督缺位" in measures[1].text


def test_problem_renders_the_cited_fact_without_copies(facts):
    p1 = {"items": [{"fact_ids": ["F1", "F1"], "summary": "2025年“送戏下乡”演出48场",
                     "reflection": "其中19场安排在农忙时节，观众不足30人"},
                    {"fact_ids": ["F1"], "summary": "送戏下乡不问群众", "reflection": "宗旨意识淡了"}]}
    draft = draft_from_facts(facts, FakeChatModel(strict=True).queue(p1, P2, CAUSES, MEASURES), max_rounds=0)
    items = [it for it in draft.part("problems").items if it.aspect == "在敬畏人民、敬畏组织、敬畏法纪上带头"]
    # the summary and the reflection only copied the fact: the item is the fact in the user's words;
    # the second item rests on the same fact and is dropped
    assert [it.text for it in items] == [facts.facts[0].text]
    assert items[0].fact_ids == ["F1"] and items[0].summary == "观众不足30人"  # its clause saying what went wrong


def test_problem_keeps_its_own_summary_and_reflection(facts):
    draft = draft_from_facts(facts, FakeChatModel(strict=True).queue(P1, P2, CAUSES, MEASURES), max_rounds=0)
    item = draft.part("problems").items[4]
    assert item.text == ("对下属公司监督缺位。" + facts.facts[1].text.rstrip("。") + "。管党治党责任没有压实。")
    assert item.summary == "对下属公司监督缺位"


def test_failed_revision_keeps_the_unrevised_draft(facts):
    from rag.draft.pipeline import DraftInterrupted

    typo = {"items": [{**P1["items"][0], "reflection": "按排演出时没有问群众"}]}
    model = FakeChatModel(strict=True).queue(typo, P2, CAUSES, MEASURES, "不是JSON", "还不是")
    with pytest.raises(DraftInterrupted) as info:
        draft_from_facts(facts, model, max_rounds=1)
    partial = info.value.partial
    assert info.value.step == "根据批改意见修改"
    assert "按排演出时" in partial.part("problems").items[2].text  # the version before the failed rewrite
    assert "上一稿的问题" in model.history[4][-1].content  # the rewrite was asked with the critic's feedback
    assert not [it for it in partial.gaps if "未生成" in it.text]


def test_interrupted_draft_from_fake_transport_error(facts, monkeypatch):
    from rag.draft.pipeline import DraftInterrupted

    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0")
    model = FakeChatModel(strict=True).queue(P1, *[ConnectionResetError("reset")] * 3)
    with pytest.raises(DraftInterrupted) as info:
        draft_from_facts(facts, model)
    assert "无法连接模型服务" in info.value.message and info.value.partial.stats["llm_calls"] == 4
    assert "48场" in to_markdown(info.value.partial)


def test_measure_result_does_not_repeat_the_action():
    from rag.draft.pipeline import _result_of

    assert _result_of("每季度不少于2次，形成走访记录，形成走访记录", "每月到乡镇走访，形成走访记录") == "每季度不少于2次"
    assert _result_of("确保效果", "建立台账") == "确保效果，建立整改台账、逐项销号"
    assert _result_of("", "建立台账") == "建立整改台账、逐项销号"


def test_decoding_schema_limits_items_to_what_the_prompt_asks(facts):
    from rag.llm import ChatLlamaCpp

    sent: list[dict] = []

    class Recorder(ChatLlamaCpp):
        def _stream(self, messages, stop=None, run_manager=None, **kwargs):
            sent.append(kwargs["json_schema"])
            yield from FakeChatModel().queue([P1, P2, CAUSES, MEASURES][len(sent) - 1])._stream(messages)

    draft_from_facts(facts, Recorder(model_path="/nonexistent.gguf"), on_event=lambda k, p: None, max_rounds=0)
    limits = [(s["properties"]["条目"]["minItems"], s["properties"]["条目"]["maxItems"]) for s in sent]
    # one fact per aspect; two problems → up to 2 causes, exactly 2 measures (one per problem, in order)
    assert limits == [(1, 1), (1, 1), (1, 2), (2, 2)]
    assert set(sent[3]["$defs"]["MeasureSlot"]["properties"]) == {"措施", "检验结果"}
    assert sent[0]["$defs"]["ProblemSlot"]["required"] == ["依据", "根源", "原因", "措施", "检验结果"]  # embedded: no summary
    assert sent[0]["$defs"]["ProblemSlot"]["properties"]["根源"]["enum"] == DIMENSIONS


def test_warm_up_reads_the_shared_system_prompt_and_problem_instructions_once():
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
    assert messages[0].content == prompting.render("system", meeting_type="个人")
    assert kwargs == {"max_tokens": 1}
    step = prompting.messages("problems", meeting_type="个人", unit="某局", role="科长", year=2025, aspect="甲",
                              facts=[{"id": "F1", "text": "事实", "source": ""}], requirements=[], feedback=None,
                              instruction=None, max_items=1, dimensions=DIMENSIONS, with_summary=False)
    assert step[0].content == messages[0].content and step[1].content.startswith(messages[1].content)
    assert "单位：某局" not in messages[1].content  # only the part every aspect shares
    assert warm_up(FakeChatModel(strict=True)) is False  # nothing to gain, no call


def test_prompt_prefix_is_the_same_for_every_meeting_type():
    """System prompt and problem instructions do not depend on the meeting type (the perspective
    sentence comes last), so one warm-up serves 班子, 个人 and 支部 drafts alike."""
    from rag.draft import prompting

    systems = {prompting.render("system", meeting_type=t) for t in ("班子", "个人", "支部")}
    tasks = {prompting.render("problems_task", meeting_type=t, dimensions=DIMENSIONS, with_summary=False)
             for t in ("班子", "个人", "支部")}
    assert len(systems) == 1 and len(tasks) == 1
    step = prompting.render("problems", meeting_type="个人", unit="某局", role="科长", year=2025, aspect="甲",
                            facts=[{"id": "F1", "text": "事实", "source": ""}], requirements=[], feedback=None,
                            instruction=None, max_items=1, dimensions=DIMENSIONS, with_summary=False)
    assert step.endswith("用“我”来写，把自己和自己的职责摆进去。")


def test_revision_rewrites_only_the_flagged_measure_in_its_place(facts):
    typo = {"items": [MEASURES["items"][0], {**MEASURES["items"][1], "action": "按排专人建立下属公司三重一大事项报备制度"}]}
    fixed = {"items": [{"action": "安排专人建立下属公司三重一大事项报备制度", "result": "形成报备清单"}]}
    model = FakeChatModel(strict=True).queue(P1, P2, CAUSES, typo, fixed)
    draft = draft_from_facts(facts, model, max_rounds=1)
    measures = draft.part("measures").items
    assert len(model.history) == 5
    rewrite = model.history[4][-1].content
    assert "上一稿的问题" in rewrite and "[P5]" in rewrite and "[P3]" not in rewrite  # only the flagged one
    assert [it.id for it in measures] == ["M1", "M2"] and measures[1].problem_ids == ["P5"]
    assert measures[0].text.startswith("由分管副局长牵头，调整送戏下乡排期")  # untouched
    assert "安排专人" in measures[1].text and "按排" not in measures[1].text
    assert measures[1].to_confirm[0] == "2026年3月底前" and "2026年3月底前完成" in measures[1].text  # its deadline


FULL1 = {"items": [{"fact_ids": ["F1"], "summary": "对群众文化需求回应不精准", "root": "宗旨意识",
                    "cause": "把完成演出场次看得比群众满意更重", "action": "调整送戏下乡排期，事先征求乡镇意见",
                    "result": "每季度征求意见1次并形成排期清单"}]}
FULL2 = {"items": [{"fact_ids": ["F2"], "summary": "对下属公司监督缺位", "root": "宗旨意识",
                    "cause": "对管党治党责任认识不深，觉得下属公司的事有人管", "action": "建立下属公司三重一大事项报备制度",
                    "result": "形成报备清单"}]}


def test_one_call_per_aspect_when_problems_come_with_causes_and_measures(facts):
    model, events = FakeChatModel(strict=True).queue(FULL1, FULL2), []
    draft = draft_from_facts(facts, model, on_event=lambda k, p: events.append((k, p)), max_rounds=0)
    assert len(model.history) == 2  # no separate causes or measures call
    causes, measures = draft.part("causes").items, draft.part("measures").items
    # both causes have the same dimension: one cause, both texts, both problems
    assert len(causes) == 1 and causes[0].problem_ids == ["P3", "P5"]
    assert causes[0].text == ("从宗旨意识上看，对群众文化需求回应不精准、对下属公司监督缺位等问题，"
                              "说明把完成演出场次看得比群众满意更重；对管党治党责任认识不深，觉得下属公司的事有人管。")
    assert [m.problem_ids for m in measures] == [["P3"], ["P5"]]
    assert measures[0].text.startswith("由") and "调整送戏下乡排期，事先征求乡镇意见，每季度征求意见1次" in measures[0].text
    assert measures[1].to_confirm[1] == "分管班子成员牵头、相关科室具体落实"  # F2 is a 巡察反馈
    assert draft.stats["llm_calls"] == 2
    assert not [g for g in draft.gaps if g.id.startswith(("C", "M"))]  # no cause or measure left as a gap


def test_problems_without_measures_are_asked_for_in_one_call(facts):
    half = {"items": [{**FULL2["items"][0], "action": "", "result": ""}]}
    model = FakeChatModel(strict=True).queue(FULL1, half, {"items": [{"action": "建立报备制度", "result": "形成清单"}]})
    draft = draft_from_facts(facts, model, max_rounds=0)
    assert len(model.history) == 3
    asked = model.history[2][-1].content
    assert "[P5]" in asked and "[P3]" not in asked  # only the problem that had no measure
    assert [m.problem_ids for m in draft.part("measures").items] == [["P3"], ["P5"]]
    assert "建立报备制度" in draft.part("measures").items[1].text


def test_a_cause_or_result_that_only_repeats_the_facts_is_not_kept(facts):
    copy = {"items": [{**FULL2["items"][0], "cause": facts.facts[1].text[:40], "result": facts.facts[1].text[:30]}]}
    model = FakeChatModel(strict=True).queue(FULL1, copy)
    draft = draft_from_facts(facts, model, max_rounds=0)
    causes = draft.part("causes").items
    assert len(model.history) == 2  # the other problem's cause is enough: no extra call
    assert len(causes) == 1 and facts.facts[1].text[:40] not in causes[0].text
    assert causes[0].problem_ids == ["P3", "P5"]  # the copying problem joins the cause of its dimension
    m2 = draft.part("measures").items[1]
    assert facts.facts[1].text[:30] not in m2.text and "建立整改台账、逐项销号" in m2.text



def test_causes_step_is_asked_when_every_cause_only_repeats_the_facts(facts):
    c1 = {"items": [{**FULL1["items"][0], "cause": facts.facts[0].text[:40]}]}
    c2 = {"items": [{**FULL2["items"][0], "cause": facts.facts[1].text[:40]}]}
    model = FakeChatModel(strict=True).queue(c1, c2, CAUSES)
    draft = draft_from_facts(facts, model, max_rounds=0)
    assert len(model.history) == 3 and "查摆的问题" in model.history[2][-1].content
    assert [c.problem_ids for c in draft.part("causes").items] == [["P3"], ["P5"]]


def test_draft_is_shown_part_by_part_starting_before_any_model_call(facts):
    model, seen = FakeChatModel(strict=True).queue(FULL1, FULL2), []

    def on_event(kind, payload):
        if kind == "draft":
            seen.append((len(model.history), to_markdown(payload)))

    draft = draft_from_facts(facts, model, on_event=on_event, max_rounds=0)
    calls, first = seen[0]
    assert calls == 0  # the opening and 上年度整改 (rendered from the facts) come first
    assert "开展学习研讨" in first and "【正在撰写：" in first and "48场" not in first
    assert "48场" in seen[-1][1] and "【正在撰写：整改措施】" in seen[-1][1]  # last one before the measures
    assert [c for c, _ in seen] == sorted(c for c, _ in seen)
    assert draft.stats["first_text_s"] is not None and draft.stats["first_text_s"] < 1.0
    assert "【正在撰写" not in to_markdown(draft)


def test_regenerate_one_part_leaves_the_others_and_the_original(facts):
    from rag.draft.pipeline import regenerate_part

    draft = draft_from_facts(facts, FakeChatModel(strict=True).queue(FULL1, FULL2), max_rounds=0)
    before = to_markdown(draft)
    new_measures = {"items": [{"action": "重排送戏下乡计划，避开农忙时节", "result": "形成排期清单"},
                              {"action": "制定下属公司重大事项报告办法", "result": "形成报告办法1项"}]}
    model = FakeChatModel(strict=True).queue(new_measures)
    new = regenerate_part(draft, "measures", facts, model, instruction="措施写得更具体")
    assert to_markdown(draft) == before  # the original is untouched
    assert "用户的修改要求：措施写得更具体" in model.history[0][-1].content
    assert "避开农忙时节" in to_markdown(new) and "避开农忙时节" not in before
    assert [it.text for it in new.part("problems").items] == [it.text for it in draft.part("problems").items]
    assert [it.text for it in new.part("causes").items] == [it.text for it in draft.part("causes").items]
    # 问题: the model parts are drafted again from the facts
    again = regenerate_part(draft, "problems", facts, FakeChatModel(strict=True).queue(FULL1, FULL2))
    assert [it.text for it in again.part("problems").items] == [it.text for it in draft.part("problems").items]
    with pytest.raises(InputError, match="不能重写"):
        regenerate_part(draft, "opening", facts, FakeChatModel(strict=True))
    failing = FakeChatModel(strict=True).queue("不是JSON", "还不是")
    with pytest.raises(LLMError):
        regenerate_part(draft, "causes", facts, failing)
    assert to_markdown(draft) == before


def test_read_ahead_sends_exactly_the_first_prompt_of_the_draft(facts):
    """The prompt read ahead (while the user looks over the facts) is the draft's first call, token
    for token, so the draft's first call finds it in the model's cache."""
    from rag.draft.pipeline import DraftInterrupted, read_ahead
    from rag.llm import ChatLlamaCpp

    seen: list = []

    class Recorder(ChatLlamaCpp):
        def _generate(self, messages, stop=None, run_manager=None, **kwargs):
            seen.append((messages, kwargs))
            if len(seen) > 1:
                raise LLMError("停在第一次调用", "测试")
            return FakeChatModel()._generate(messages)

    model = Recorder(model_path="/nonexistent.gguf")
    assert read_ahead(facts, model) is True
    assert seen[0][1] == {"max_tokens": 1}
    with pytest.raises(DraftInterrupted):
        draft_from_facts(facts, model)
    assert len(seen) == 2
    assert [m.content for m in seen[1][0]] == [m.content for m in seen[0][0]]
    assert "单位：" in seen[0][0][-1].content  # the facts, not only the shared instructions
    assert read_ahead(facts, FakeChatModel(strict=True)) is False  # nothing to gain, no call


@pytest.mark.parametrize("text, name", [
    ("2025年局党组理论学习中心组集中学习12次，其中专题研讨2次；有3次研讨以领读文件为主，班子成员发言没有结合分管工作提出具体举措。",
     "班子成员发言没有结合分管工作提出具体举措"),
    ("县热线转来涉农诉求23件，平均办结用时15天，超过规定的10个工作日。", "平均办结用时15天超过规定的10个工作日"),
    ("家长代表反映，课后服务收费调整3次，均没有提前公示，咨询电话长期无人接听。", "咨询电话长期无人接听"),
    ("2023年教师培训计划覆盖1860名教师，年底完成1125人次【待核实】。", "2023年教师培训计划覆盖1860名教师"),
])
def test_handle_names_a_problem_by_the_clause_that_says_what_went_wrong(text, name):
    from rag.draft.pipeline import handle

    assert handle(text) == name


@pytest.mark.parametrize("text, ok", [
    ("把完成演出场次看得比群众满意更重", True), ("对管党治党责任认识不深", True), ("宗旨意识淡了", True),
    ("系统招标未按计划完成", False), ("我作为分管办公室、财务股的党组成员", False), ("", False),
])
def test_a_cause_must_speak_of_thought_or_party_spirit(text, ok):
    from rag.draft.pipeline import is_reason

    assert is_reason(text) is ok


def test_causes_name_the_problems_they_explain_and_work_records_are_not_causes(facts):
    """A stored cause that only describes work or a post is dropped; with too few causes left the
    causes step is asked once, and each cause then names its problems in the text."""
    c1 = {"items": [{**FULL1["items"][0], "cause": "送戏下乡排期未按计划完成"}]}
    c2 = {"items": [{**FULL2["items"][0], "cause": "我作为分管文旅公司的班子成员"}]}
    model = FakeChatModel(strict=True).queue(c1, c2, CAUSES)
    draft = draft_from_facts(facts, model, max_rounds=0)
    assert len(model.history) == 3 and "查摆的问题" in model.history[2][-1].content
    causes = draft.part("causes").items
    assert all("未按计划完成" not in c.text and "我作为" not in c.text for c in causes)
    assert causes[0].text.startswith("从宗旨意识上看，对群众文化需求回应不精准的问题，")


def test_a_result_claimed_as_already_achieved_is_not_kept():
    from rag.draft.pipeline import _result_of

    assert _result_of("取得了显著成效，全年开展廉政提醒谈话3轮", "加强党风廉政建设") == "全年开展廉政提醒谈话3轮"
    assert _result_of("我已对报销标准进行了全面检查", "统一报销审核标准") == "建立整改台账、逐项销号"
    assert _result_of("通过加快工作进度，按期完成整治", "加快整治进度") == "按期完成整治，建立整改台账、逐项销号"


def test_a_reason_that_retells_a_fact_is_kept_whole_when_nothing_else_is_left():
    from rag.draft.pipeline import reason_of

    facts = "2025年局党组6月才研究制定落实方案，比要求时限晚1个多月"
    assert reason_of("局党组6月才研究制定落实方案，把完成任务看得比群众满意更重", facts) == "把完成任务看得比群众满意更重"
    assert reason_of("局党组6月才研究制定落实方案说明认识不足", facts) == "局党组6月才研究制定落实方案说明认识不足"
    assert reason_of("局党组6月才研究制定落实方案", facts) == ""  # only the fact: not a cause


def test_a_cause_the_model_could_not_give_keeps_its_dimension_and_problems_and_asks_the_user(facts):
    """The small model often writes consequences (“导致工作推进不及时”) where the cause should be: the
    dimension and problems it chose are kept, the reason becomes a gap marker, nothing is made up."""
    c1 = {"items": [{**FULL1["items"][0], "cause": "送戏下乡排期未按计划完成"}]}
    c2 = {"items": [{**FULL2["items"][0], "cause": "导致工作推进不及时"}]}
    consequences = {"items": [{"problem_ids": ["P3"], "dimension": "宗旨意识", "text": "导致群众不满意"},
                              {"problem_ids": ["P5"], "dimension": "纪律规矩意识", "text": "导致监督不到位"}]}
    model = FakeChatModel(strict=True).queue(c1, c2, consequences)
    draft = draft_from_facts(facts, model, max_rounds=0)
    causes = draft.part("causes").items
    assert len(model.history) == 3
    assert len(causes) == 1 and causes[0].gap and causes[0].problem_ids == ["P3", "P5"]
    assert causes[0].text.startswith("从宗旨意识上看，对群众文化需求回应不精准、对下属公司监督缺位等问题，说明【请补充：")
    assert "导致" not in causes[0].text


def test_problems_do_not_name_the_colleagues_in_the_facts():
    from rag.draft.facts import Fact
    from rag.draft.pipeline import _problem_body

    fact = Fact(id="F1", category="征求意见", text="办公室主任林晓雯在谈心谈话中指出，我对年轻干部批评多、帮带少。",
                source="谈心谈话", people=["林晓雯"])
    body, _ = _problem_body("", [fact], "")
    assert "林晓雯" not in body and body.startswith("办公室主任在谈心谈话中指出，我对年轻干部批评多、帮带少")
