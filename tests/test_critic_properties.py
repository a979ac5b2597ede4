"""Property tests: any string gives findings or a clear Chinese error, never a crash; offsets stay inside."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rag.critic.engine import MAX_CHARS, critique
from rag.errors import InputError

PIECES = st.sampled_from([
    "一、存在的问题\n", "二、原因分析\n", "三、整改措施\n", "（一）理论学习方面\n", "一是", "二是", "1.", "（2）",
    "学习不够深入系统，", "有时", "任务重、人手少", "2025年", "进一步加强", "。", "\n", "\r\n", "**", "x人",
    "以习近平总书记为核心的党中央", "十九届六中全会", "王建军同志", "13812345678", ",", "(", "【待补充】",
])
TEXT = st.one_of(
    st.text(max_size=400),
    st.lists(PIECES, max_size=60).map("".join),
    st.lists(st.one_of(PIECES, st.text(max_size=8)), max_size=80).map("".join),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TEXT, st.sampled_from([None, 2021, 2023, 2024, 2025]), st.sampled_from([None, "班子", "个人", "支部"]))
def test_any_text_gives_findings_or_clear_error(text, year, meeting_type):
    try:
        report = critique(text, year=year, meeting_type=meeting_type)
    except InputError as exc:
        assert any("\u4e00" <= c <= "\u9fff" for c in exc.message)
        return
    for f in report.findings:
        assert 0 <= f.start < f.end <= len(text), (f.rule, f.start, f.end, len(text))
        assert text[f.start:f.end].startswith(f.quote.rstrip("…")[:10])


def test_huge_and_binary_inputs_are_refused_clearly():
    for bad in ("x" * (MAX_CHARS + 1), "\x00\x01\x02" * 100, "   \n  "):
        try:
            critique(bad)
        except InputError as exc:
            assert any("\u4e00" <= c <= "\u9fff" for c in exc.message)
        else:
            raise AssertionError("expected InputError")


def test_one_megabyte_string_is_refused_not_crashed():
    text = ("一是学习不够深入。" * 120_000)[:1_000_000]
    try:
        critique(text)
    except InputError as exc:
        assert "过长" in exc.message and exc.hint
    else:
        raise AssertionError("1 MB 的文本应当被拒绝并给出中文提示，而不是照常批改")
