"""rag.draft.quality: the benchmark's independent grounding count and the critic split."""

from __future__ import annotations

from rag.draft.facts import load_facts
from rag.draft.pipeline import draft_from_facts
from rag.draft.quality import critic_errors, unsupported_tokens
from rag.llm.fake import FakeChatModel

P1 = {"items": [{"fact_ids": ["F1"], "summary": "对群众文化需求回应不精准",
                 "instance": "2025年11月送戏下乡演出48场，其中19场安排在农忙时节", "reflection": ""}]}
P2 = {"items": [{"fact_ids": ["F2"], "summary": "对下属公司监督缺位",
                 "instance": "县委第三巡察组反馈，“三重一大”事项监督缺位，2项景区维护工程没有经过集体研究",
                 "reflection": ""}]}
CAUSES = {"items": [{"problem_ids": ["P3"], "dimension": "宗旨意识", "text": "把完成场次当成了目标"}]}
MEASURES = {"items": [{"problem_ids": ["P3"], "action": "调整排期", "result": "形成排期清单", "owner": "办公室"}]}


def _draft(facts, p1=P1):
    model = FakeChatModel(strict=True).queue(p1, P2, CAUSES, MEASURES)
    return draft_from_facts(facts, model, max_rounds=0)


def test_grounded_draft_has_no_unsupported_tokens():
    facts = load_facts("examples/facts/mini.yaml")
    assert unsupported_tokens(_draft(facts), facts) == []


def test_unsupported_numbers_and_names_are_counted_after_the_fact():
    facts = load_facts("examples/facts/mini.yaml")
    draft = _draft(facts)
    item = draft.part("problems").items[2]
    item.text += "另有9场在“龙山剧院”演出。"  # as if the guard had missed them
    assert unsupported_tokens(draft, facts) == ["9", "龙山剧院"]
    item.text = "【请补充：第9条】" + item.text.replace("另有9场在“龙山剧院”演出。", "")
    assert unsupported_tokens(draft, facts) == []  # our markers are not statements


def test_critic_errors_split_markers_from_real_errors():
    facts = load_facts("examples/facts/mini.yaml")
    draft = _draft(facts)
    ours, other = critic_errors(draft, facts)
    assert ours and other == []
    draft.part("problems").items[2].text += "班子按排专题学习。"  # a typo: an error-level finding of its own
    ours, other = critic_errors(draft, facts)
    assert [o.split(":")[0] for o in other] == ["form.typo"]
