"""Chunking: headings travel with their bodies, numbered items stay whole, offsets are exact."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from rag.kb.chunking import HARD_MAX, MAX_CHARS, chunk_text, classify_line

ITEM_A = "一是理论学习不够深入。" + "本人全年参加中心组学习12次，但多数时候只是读原文、记笔记，没有结合分管的农业项目思考问题。" * 3
ITEM_B = "二是调查研究不够扎实。" + "全年到基层调研9次，其中4次是陪同上级检查，真正蹲点解决问题的只有2次。" * 3
ITEM_C = "三是联系群众不够紧密。" + "接访群众来信来访23件，有6件没有在规定时限内答复，群众意见比较大。" * 3

DOC = f"""一、存在的问题

（一）政治理论学习方面

{ITEM_A}{ITEM_B}{ITEM_C}

（二）作风建设方面

会议多、文件多的问题仍然存在。

二、原因分析

理想信念有所松懈。
"""


def _check_offsets(text: str, chunks) -> None:
    for i, chunk in enumerate(chunks):
        assert chunk.ordinal == i
        assert 0 <= chunk.start < chunk.end <= len(text)
        assert text[chunk.start : chunk.end] == chunk.text
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.end <= after.start


def test_offsets_are_exact_and_ordered():
    chunks = chunk_text(DOC)
    assert len(chunks) >= 3
    _check_offsets(DOC, chunks)


def test_headings_stay_with_their_body():
    chunks = chunk_text(DOC)
    for chunk in chunks:
        last_line = chunk.text.strip().split("\n")[-1].strip()
        assert classify_line(last_line) is None, f"chunk ends with a heading: {chunk.text!r}"
    first = next(c for c in chunks if "（二）作风建设方面" in c.text)
    assert "会议多、文件多" in first.text
    assert first.heading_path == "一、存在的问题 > （二）作风建设方面"
    cause = next(c for c in chunks if "理想信念有所松懈" in c.text)
    assert cause.heading_path == "二、原因分析"
    assert cause.text.startswith("二、原因分析")


def test_numbered_items_are_never_cut():
    chunks = chunk_text(DOC)
    for item in (ITEM_A, ITEM_B, ITEM_C):
        assert sum(item in c.text for c in chunks) == 1, item[:10]
    assert all(len(c.text) <= HARD_MAX for c in chunks)
    item_chunks = [c for c in chunks if "一是" in c.text or "二是" in c.text]
    assert all(c.heading_path == "一、存在的问题 > （一）政治理论学习方面" for c in item_chunks)


def test_articles_stay_whole():
    articles = [f"第{n}条 " + "党员领导干部应当带头执行民主集中制，严格遵守请示报告制度。" * 3 for n in "一二三四五六七八九十"]
    text = "第一章 总则\n\n" + "\n".join(articles)
    chunks = chunk_text(text)
    assert len(chunks) > 1
    for article in articles:
        assert sum(article in c.text for c in chunks) == 1
    assert all(c.heading_path == "第一章 总则" for c in chunks)


def test_small_paragraphs_merge_and_long_ones_split_at_sentence_ends():
    small = "\n".join(f"第{i}段简短的说明文字，不超过六十个字。" for i in range(5))
    merged = chunk_text("一、情况说明\n" + small)
    assert len(merged) == 1

    sentence = "班子成员全年深入基层调研的次数偏少，调研成果转化运用不够充分。"
    long_para = sentence * 40
    pieces = chunk_text(long_para)
    assert len(pieces) > 1
    assert all(len(p.text) <= MAX_CHARS for p in pieces)
    assert all(p.text.endswith("。") for p in pieces)
    assert "".join(p.text for p in pieces) == long_para


def test_markdown_title_is_not_part_of_heading_path():
    text = "# 某局班子对照检查材料\n\n## 一、存在的问题\n\n学习不够深入，全年只参加了3次集中学习。"
    chunks = chunk_text(text, title="某局班子对照检查材料")
    assert chunks[-1].heading_path == "一、存在的问题"


def test_paragraph_numbers_count_within_section():
    paras = [f"第{i}段：" + "具体事例说明。" * 60 for i in range(1, 4)]
    text = "一、存在的问题\n" + "\n".join(paras)
    chunks = chunk_text(text)
    third = next(c for c in chunks if c.text.startswith("第3段"))
    assert third.paragraph == 3


_LINES = st.one_of(
    st.sampled_from(["一、存在的问题", "（一）学习方面", "1. 学用脱节", "（2）作风", "第三条 规定", "## 标题", "", "   "]),
    st.text(alphabet="学习不够深入。；！？，一二三是（）() \t\n\r1.abc", max_size=700),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(_LINES, max_size=25))
def test_offsets_always_inside_text(lines):
    text = "\n".join(lines)
    chunks = chunk_text(text)
    _check_offsets(text, chunks)
    covered = "".join(c.text for c in chunks)
    assert re.sub(r"\s", "", covered) == re.sub(r"\s", "", text)
