"""Item predicates (deadline, result, concrete, self_or_duty, anchor) and the critic's per-process caches."""

from __future__ import annotations

import pytest

from rag.critic import predicates
from rag.critic.engine import critique
from rag.critic.lexicon import lexicon_of, raw_entries


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("（二）抓党性锤炼。2026年度民主生活会前，党组书记与每名班子成员谈心谈话不少于2次。", True),
        ("2026年起，组织委员负责每学期开展1次专题研讨。", True),
        ("2026年春季学期完成全班学生家访。", True),
        ("2026年3月底前建立台账。", True),
        ("加强理论学习，由办公室负责记录。", False),
        ("进一步完善调研制度，由分管副局长牵头落实。", False),
    ],
)
def test_deadline(text: str, expected: bool) -> None:
    assert predicates.check("deadline", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3. 2026年6月底前，我组织对运维合同开展复核，运维费用压减到预算以内。", True),
        ("1. 2026年3月底前由办公室牵头，加强干部作风建设。", False),
    ],
)
def test_result(text: str, expected: bool) -> None:
    assert predicates.check("result", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("进一步加强理论武装，不断增强“四个意识”，坚决做到“两个维护”。", False),
        ("严格落实中央八项规定精神，努力提高拒腐防变能力。", False),
        ("对群众反映的办事难问题，今后一定改正。", False),
        ("进一步加强理论学习，2026年3月底前制定学习计划。", True),
        ("切实提高服务水平，由办公室牵头建立台账。", True),
    ],
)
def test_concrete_ignores_numbered_slogans_and_bare_sources(text: str, expected: bool) -> None:
    assert predicates.check("concrete", text) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("二是理论联系实际不够紧密，学习成果转化不多。", False),
        ("三是干事创业、担当作为的劲头不足。", False),
        ("三是作为分管领导，我对联系点的2个村只去过1次。", True),
        ("一是我联系的青石村道路修缮答复不及时。", True),
    ],
)
def test_self_or_duty(text: str, expected: bool) -> None:
    assert predicates.check("self_or_duty", text) is expected


def test_slogans_and_inspection_words_are_no_anchor() -> None:
    assert not predicates.anchored("三是对“两个确立”的决定性意义认识不深，增强“四个意识”的自觉性不强。")
    assert not predicates.anchored("四是班子成员把主要精力放在应付各类检查考核上。")
    assert predicates.anchored("二是2025年度目标考核中，我分管的指标失分最多。")


def test_inline_lexicons_are_compiled_once_per_distinct_list() -> None:
    terms = [{"term": "甲乙丙", "replacement": "丁"}, "戊己"]
    first = lexicon_of("t", terms)
    assert lexicon_of("t", list(terms)) is first
    assert lexicon_of("t", ["戊己"]) is not first
    assert [h.term.term for h in first.find("甲乙丙和戊己")] == ["甲乙丙", "戊己"]


def test_raw_entries_returns_a_fresh_list_each_time() -> None:
    entries = raw_entries("outdated")
    assert entries
    entries.clear()
    assert raw_entries("outdated")


def test_repeated_critique_gives_identical_findings() -> None:
    text = (
        "某局领导班子2025年度民主生活会对照检查材料\n班子围绕学思想、强党性、重实践、建新功开展对照检查。\n"
        "一、存在的问题\n一是理论学习不够深入系统。\n二、原因分析\n理想信念有所松懈。\n"
        "三、整改措施\n1.进一步加强理论学习，切实提高政治站位。\n"
    )
    first = [f.model_dump() for f in critique(text).findings]
    assert first
    assert [f.model_dump() for f in critique(text).findings] == first
