"""Word export: 公文 layout of drafts, and critique reports as real Word comments."""

from __future__ import annotations

import io

import docx
import pytest
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml.ns import qn
from docx.shared import Pt
from lxml import etree
from samples import WEAK

from rag.critic.api import critique_many
from rag.critic.model import Finding
from rag.docx_io import critique_to_docx, draft_to_docx

TITLE = "岚溪县文化广电旅游体育局领导班子2025年度民主生活会对照检查材料"
DRAFT_MD = f"""# {TITLE}

按照2025年度民主生活会的有关要求，会前开展学习研讨3次、谈心谈话28人次。现对照检查如下。

## 一、存在的问题
（一）在敬畏人民、敬畏组织、敬畏法纪上带头方面
一是服务群众的精准度不够。2025年“送戏下乡”演出48场，其中19场安排在农忙时节。
二是【请补充：在干事创业方面的具体事例】

二、整改措施
1.由分管副局长牵头，重新编排送戏下乡计划，**形成排期清单**，2026年2月底前完成。
"""



def _open(data: bytes) -> docx.document.Document:
    assert data[:2] == b"PK"
    return docx.Document(io.BytesIO(data))


def _east_asia(element) -> str | None:
    rpr = element.rPr
    fonts = rpr.find(qn("w:rFonts")) if rpr is not None else None
    return fonts.get(qn("w:eastAsia")) if fonts is not None else None


@pytest.fixture(scope="module")
def draft_doc():
    return _open(draft_to_docx(TITLE, DRAFT_MD))


def test_page_is_a4_with_gongwen_margins(draft_doc):
    [section] = draft_doc.sections
    assert round(section.page_width.mm) == 210 and round(section.page_height.mm) == 297
    margins = [round(m.mm) for m in (section.top_margin, section.bottom_margin, section.left_margin,
                                     section.right_margin)]
    assert margins == [37, 35, 28, 26]


def test_title_once_centred_in_xiaobiaosong_erhao(draft_doc):
    titles = [p for p in draft_doc.paragraphs if p.text == TITLE]
    assert len(titles) == 1  # the Markdown "# title" line is not printed twice
    title = titles[0]
    assert title.style.name == "公文标题"
    assert title.style.paragraph_format.alignment == WD_ALIGN_PARAGRAPH.CENTER
    assert title.style.font.size == Pt(22)
    assert _east_asia(title.runs[0]._element) == "方正小标宋简体"
    assert _east_asia(title.style.element) == "方正小标宋简体"


def test_headings_and_body_styles(draft_doc):
    by_text = {p.text: p for p in draft_doc.paragraphs}
    h1 = by_text["一、存在的问题"]  # "## " marker removed
    assert h1.style.name == "一级标题" and _east_asia(h1.runs[0]._element) == "黑体"
    assert by_text["二、整改措施"].style.name == "一级标题"
    h2 = by_text["（一）在敬畏人民、敬畏组织、敬畏法纪上带头方面"]
    assert h2.style.name == "二级标题" and _east_asia(h2.runs[0]._element) == "楷体_GB2312"
    body = next(p for p in draft_doc.paragraphs if p.text.startswith("一是服务群众"))
    assert body.style.name == "公文正文"
    assert _east_asia(body.runs[0]._element) == "仿宋_GB2312"
    assert body.style.font.size == Pt(16)
    assert "**" not in "".join(p.text for p in draft_doc.paragraphs)
    assert any(p.text.endswith("形成排期清单，2026年2月底前完成。") for p in draft_doc.paragraphs)


def test_first_line_indent_two_characters(draft_doc):
    style = draft_doc.styles["公文正文"]
    assert style.paragraph_format.first_line_indent == Pt(32)
    ind = style.element.pPr.find(qn("w:ind"))
    assert ind.get(qn("w:firstLineChars")) == "200"
    assert draft_doc.styles["一级标题"].paragraph_format.first_line_indent == Pt(32)


def test_headings_have_outline_levels(draft_doc):
    levels = {name: draft_doc.styles[name].element.pPr.find(qn("w:outlineLvl")) for name in ("一级标题", "二级标题")}
    assert levels["一级标题"].get(qn("w:val")) == "0"
    assert levels["二级标题"].get(qn("w:val")) == "1"


def test_gap_markers_are_highlighted(draft_doc):
    runs = [r for p in draft_doc.paragraphs for r in p.runs if r.text.startswith("【请补充")]
    assert runs and all(r.font.highlight_color == WD_COLOR_INDEX.YELLOW for r in runs)


def test_font_fallbacks_registered(draft_doc):
    part = draft_doc.part.part_related_by(RT.FONT_TABLE)
    root = etree.fromstring(part.blob)
    alt = {f.get(qn("w:name")): f.find(qn("w:altName")) for f in root.findall(qn("w:font"))}
    assert alt["方正小标宋简体"].get(qn("w:val")) == "宋体"
    assert alt["仿宋_GB2312"].get(qn("w:val")) == "仿宋"
    assert alt["楷体_GB2312"].get(qn("w:val")) == "楷体"


def test_footer_has_page_number_field(draft_doc):
    footer = draft_doc.sections[0].footer.paragraphs[0]
    xml = footer._element.xml
    assert "PAGE" in xml and 'w:fldCharType="begin"' in xml and 'w:fldCharType="end"' in xml
    assert footer.text.startswith("—") and footer.text.endswith("—")


def test_empty_markdown_still_gives_a_document():
    doc = _open(draft_to_docx("标题", ""))
    assert [p.text for p in doc.paragraphs if p.text] == ["标题"]


# ------------------------------------------------------------------------------ comments

@pytest.fixture(scope="module")
def weak_report():
    return critique_many({"weak": WEAK}, use_kb=False)[0]


def test_one_comment_per_finding(weak_report):
    assert len(weak_report.findings) >= 5
    doc = _open(critique_to_docx(WEAK, weak_report.findings))
    comments = list(doc.comments)
    assert len(comments) == len(weak_report.findings)
    assert all(c.author == "照镜" for c in comments)
    assert any("建议：" in c.text and "依据：" in c.text for c in comments)


def test_text_is_preserved_and_runs_split_at_spans(weak_report):
    doc = _open(critique_to_docx(WEAK, weak_report.findings))
    assert "\n".join(p.text for p in doc.paragraphs) == WEAK
    hedge = next(f for f in weak_report.findings if f.rule.startswith("hedge"))
    runs = [r for p in doc.paragraphs for r in p.runs]
    assert any(r.text == hedge.quote for r in runs)  # the flagged word is a run of its own


def test_comment_ranges_cover_exactly_the_span():
    text = "第一行没有问题。\n我们有时工作不够扎实。"
    finding = Finding(rule="hedge.softening", level="warning", part="problems", start=11, end=13, quote="有时",
                      message="问题中用了弱化词", suggestion="删去“有时”", basis="对照检查要求")
    doc = _open(critique_to_docx(text, [finding]))
    body = doc.element.body
    start = body.find(".//" + qn("w:commentRangeStart"))
    end = body.find(".//" + qn("w:commentRangeEnd"))
    assert start is not None and end is not None
    covered, inside = [], False
    for el in body.iter():
        if el is start:
            inside = True
        elif el is end:
            break
        elif inside and el.tag == qn("w:t"):
            covered.append(el.text)
    assert "".join(covered) == "有时"
    [comment] = list(doc.comments)
    assert comment.text.startswith("【警告】问题中用了弱化词")


def test_zero_length_finding_anchors_on_its_line():
    text = "\n标题行\n正文"
    finding = Finding(rule="structure.missing_part", level="error", part="document", start=0, end=0, quote="",
                      message="缺少原因分析部分", suggestion="补写原因分析")
    doc = _open(critique_to_docx(text, [finding]))
    assert len(list(doc.comments)) == 1
    runs = [r for p in doc.paragraphs for r in p.runs if r.font.highlight_color == WD_COLOR_INDEX.PINK]
    assert [r.text for r in runs] == ["标题行"]


def test_no_findings_no_comments():
    doc = _open(critique_to_docx("没有问题的文本。", []))
    assert list(doc.comments) == []
