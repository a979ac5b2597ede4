"""rag.draft.quality: the benchmark's independent grounding count and the critic split."""

from __future__ import annotations

from rag.draft.facts import load_facts
from rag.draft.pipeline import draft_from_facts
from rag.draft.quality import critic_errors, unsupported_tokens
from rag.embed import FakeEmbedder
from rag.llm.fake import FakeChatModel

ANSWERS = ["送戏下乡排期贴近群众还不够", "对下属公司的监督存在缺位",
           "班子把完成演出场次看得比群众满意更重，安排演出时没有先问群众", "班子认为下属公司自己会管好，对三重一大事项管得松",
           "调整送戏下乡排期，农忙时节不安排演出", "下属文旅公司三重一大事项一律经过集体研究再办", "印发文物安全巡查责任清单，逐项落实",
           "对照这一案例，班子对下属文旅公司工程项目的监督同样存在漏洞，要以案为鉴"]


def _draft(facts):
    return draft_from_facts(facts, FakeChatModel(strict=True).queue(*ANSWERS), embedder=FakeEmbedder())


def test_grounded_draft_has_no_unsupported_tokens():
    facts = load_facts("examples/facts/mini.yaml")
    assert unsupported_tokens(_draft(facts), facts) == []


def test_unsupported_numbers_and_names_are_counted_after_the_fact():
    facts = load_facts("examples/facts/mini.yaml")
    draft = _draft(facts)
    item = draft.part("problems").items[2]
    item.text += "另有9场在“龙山剧院”演出。"  # as if the guard had missed them
    assert unsupported_tokens(draft, facts) == ["9场", "龙山剧院"]
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
