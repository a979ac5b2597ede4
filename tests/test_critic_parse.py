"""Parser behaviour: unusual headings, sentence-like numbered lines, soft breaks, 上年度整改/案例 inside 问题."""

from __future__ import annotations

import pytest

from rag.critic import predicates
from rag.critic.engine import critique
from rag.critic.parse import parse


def kinds(text: str) -> list[str]:
    return [p.kind for p in parse(text).parts]


@pytest.mark.parametrize(
    ("heading", "kind"),
    [
        ("一、检视出的问题", "problems"),
        ("一、对照六大纪律查摆的问题", "problems"),
        ("三、努力方向", "measures"),
        ("二、根源分析", "causes"),
        ("二、问题产生的根源", "causes"),
        ("一、2024年度民主生活会整改情况", "rectification"),
    ],
)
def test_numbered_headings_name_their_part(heading: str, kind: str) -> None:
    text = f"{heading}\n一是2025年我缺席集中学习2次，研讨发言照稿念。"
    assert kinds(text) == [kind]


def test_bare_headings_without_numbers_delimit_parts() -> None:
    text = (
        "个人对照检查材料\n"
        "检视出的问题\n一是2025年我缺席集中学习2次。\n"
        "根源分析：\n理想信念有所动摇，党性修养放松。\n"
        "努力方向\n1.2026年3月底前补齐缺课内容。"
    )
    doc = parse(text)
    assert [p.kind for p in doc.parts] == ["opening", "problems", "causes", "measures"]
    # the title line is not taken for a heading although it says 对照检查
    assert doc.parts[0].start == 0
    assert doc.parts[1].heading is not None and doc.parts[1].heading.text == "检视出的问题"


def test_sentence_lines_are_not_bare_headings() -> None:
    text = "一、存在的问题\n一是2025年我缺席集中学习2次。\n存在问题，主要是学习不深。"
    assert kinds(text) == ["problems"]


def test_bodyless_sentence_headings_are_items_not_aspects() -> None:
    text = (
        "二、原因分析\n"
        "（一）理想信念有所松懈，对理论学习的重要性认识不足。\n"
        "（二）宗旨意识有所淡化，群众观点树得不牢。\n"
        "三、整改措施\n"
        "（一）加强理论武装。\n"
        "1.2026年3月底前制定学习计划。\n"
        "2.每月集中学习1次。\n"
    )
    doc = parse(text)
    causes, measures = doc.parts_of("causes")[0], doc.parts_of("measures")[0]
    assert causes.aspects == []
    assert [it.text[:3] for it in causes.items] == ["（一）", "（二）"]
    assert [h.text for h in measures.aspects] == ["（一）加强理论武装。"]
    assert [it.marker for it in measures.items] == ["1", "2"]
    assert all(it.aspect == "（一）加强理论武装。" for it in measures.items)


def test_long_sentence_with_part_words_does_not_open_a_part() -> None:
    text = (
        "整改措施\n"
        "（一）2026年3月底前，由党组书记牵头建立落实台账，每月调度1次。\n"
        "（二）2026年起，每季度开展1次警示教育;对照反面典型案例逐条检视风险点，形成风险清单。\n"
    )
    doc = parse(text)
    assert [p.kind for p in doc.parts] == ["measures"]
    assert len(doc.parts[0].items) == 2


def test_soft_break_inside_numbered_item_is_joined_and_offsets_stay_in_the_original() -> None:
    text = "一、存在的问题\n1. 2025年班子在季度督办中只听汇报，\n没有逐个到现场盯办。\n2. 2025年缺课2次。"
    doc = parse(text)
    items = doc.items_of("problems")
    assert len(items) == 2
    assert items[0].text.endswith("没有逐个到现场盯办。")
    s, e = doc.to_original(items[0].start, items[0].end)
    assert text[s:e].startswith("1. 2025年") and text[s:e].endswith("盯办。")


def test_numbered_title_line_is_not_joined_with_its_body() -> None:
    text = "一、存在的问题\n（一）在强化政治忠诚、提高政治能力上带头方面\n班子2025年集中学习3次。"
    doc = parse(text)
    assert [h.text for h in doc.parts[0].aspects] == ["（一）在强化政治忠诚、提高政治能力上带头方面"]


RECTIFICATION_INSIDE = (
    "一、存在的问题\n"
    "（一）上年度整改落实情况\n"
    "上年度查摆的问题已全部整改完成，圆满完成了整改任务。\n"
    "（二）在强化政治忠诚、提高政治能力上带头方面\n"
    "一是理论学习不够深入系统，学用结合不够紧密。\n"
    "二、原因分析\n理想信念的根基扎得不牢。\n"
)


def test_rectification_block_inside_problems_becomes_its_own_part() -> None:
    doc = parse(RECTIFICATION_INSIDE)
    assert [p.kind for p in doc.parts] == ["problems", "rectification", "problems", "causes"]
    assert all(it.part == "problems" for it in doc.items_of("problems"))
    assert [it.text[:4] for it in doc.items_of("problems")] == ["一是理论"]
    assert doc.parts[1].aspects[0].text == "（一）上年度整改落实情况"


def test_rules_on_problems_skip_the_rectification_block() -> None:
    report = critique(RECTIFICATION_INSIDE, year=2025, meeting_type="班子")
    rules = {f.rule: f for f in report.findings}
    assert "achievement.in_problems" not in rules  # 圆满完成 is about last year's rectification
    assert rules["anchor.missing"].quote.startswith("一是理论")


def test_unheaded_rectification_paragraph_inside_problems() -> None:
    text = (
        "一、存在的问题\n"
        "上年度民主生活会查摆的6个问题，已整改完成5个。\n"
        "一是2025年我缺席集中学习2次。\n"
    )
    doc = parse(text)
    assert [p.kind for p in doc.parts] == ["problems", "rectification", "problems"]
    assert doc.part_at(doc.norm.index("上年度")) == "rectification"


def test_item_at_and_sentence_at_agree_with_linear_scans() -> None:
    text = RECTIFICATION_INSIDE + "三、整改措施\n1.2026年3月底前制定计划；每月学习1次。\n2.年底前形成报告！"
    doc = parse(text)
    items = [it for p in doc.parts for it in p.items]
    for pos in range(len(doc.norm)):
        linear = next((it for it in items if it.start <= pos < it.end), None)
        assert doc.item_at(pos) is linear
        assert doc.sentence_at(pos, pos + 1) == predicates.sentence_around(doc.norm, pos, pos + 1)
