"""Our own gap markers are reported once, as unfilled placeholders — not again as “no instance” etc."""

from rag.critic.engine import critique

DRAFT = """某局领导班子2025年度民主生活会对照检查材料
一、存在的问题
（一）在强化政治忠诚、提高政治能力上带头方面
一是【请补充：在强化政治忠诚、提高政治能力上带头方面的具体事例（时间、事件、数字）】
（二）在干事创业、担当作为上带头方面
一是学习不够深入，工作作风不够扎实。
二、原因分析
党性修养放松。
三、整改措施
由办公室牵头，2026年3月底前建立学习台账。
"""


def _rules_at(report, needle: str) -> set[str]:
    at = DRAFT.index(needle)
    return {f.rule for f in report.findings if f.start <= at < f.end or at <= f.start < at + len(needle)}


def test_gap_marker_is_one_placeholder_finding():
    report = critique(DRAFT, year=2025, meeting_type="班子")
    on_marker = _rules_at(report, "【请补充：在强化政治忠诚")
    assert on_marker == {"placeholder.unfilled"}
    assert "anchor.missing" in _rules_at(report, "一是学习不够深入")  # a real item is still checked


def test_text_next_to_a_marker_is_still_checked():
    text = DRAFT.replace("一是【请补充", "一是有时学习不够深入。【请补充")
    report = critique(text, year=2025, meeting_type="班子")
    assert any(f.rule == "hedge.softening" and f.quote == "有时" for f in report.findings)
