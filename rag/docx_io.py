"""Word export in 公文 layout (GB/T 9704 style) and critique reports as Word comments.

* :func:`draft_to_docx` – a draft's Markdown/plain text as a .docx: A4, margins 37/35/28/26 mm, title in
  方正小标宋简体 二号, body 仿宋_GB2312 三号, 一、 headings 黑体, （一） headings 楷体_GB2312, first-line
  indent of two characters, page numbers “— 1 —” in the footer.
* :func:`critique_to_docx` – the reviewed text with a real Word comment on every flagged span.

Fonts that are usually missing on a plain system (方正小标宋简体, 仿宋_GB2312, 楷体_GB2312) are registered
in the font table with an ``altName`` fallback (宋体, 仿宋, 楷体), so Word substitutes sensibly.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from docx import Document
from docx.document import Document as DocumentObject
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_COLOR_INDEX
from docx.opc.constants import RELATIONSHIP_TYPE as RT
from docx.oxml import parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt, RGBColor
from docx.text.paragraph import Paragraph
from docx.text.run import Run
from lxml import etree

from rag.critic.model import LEVEL_LABELS

TITLE_FONT, TITLE_FALLBACK = "方正小标宋简体", "宋体"
BODY_FONT, BODY_FALLBACK = "仿宋_GB2312", "仿宋"
H1_FONT = "黑体"
H2_FONT, H2_FALLBACK = "楷体_GB2312", "楷体"
LATIN_FONT = "Times New Roman"
FALLBACKS = {TITLE_FONT: TITLE_FALLBACK, BODY_FONT: BODY_FALLBACK, H2_FONT: H2_FALLBACK,
             H1_FONT: "SimHei", TITLE_FALLBACK: "SimSun"}
SIZE_ER = Pt(22)  # 二号
SIZE_SAN = Pt(16)  # 三号
SIZE_SI = Pt(14)  # 四号 (page numbers)
LINE = Pt(28)  # fixed line spacing usual for 公文 (22 lines a page)
MARGINS_MM = {"top": 37, "bottom": 35, "left": 28, "right": 26}
COMMENT_AUTHOR, COMMENT_INITIALS = "照镜", "ZJ"

H1 = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分)")
H2 = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
MARKER = re.compile(r"【(?:请补充|待核实|待补充)[^】]*】")
LEVEL_HIGHLIGHT = {"error": WD_COLOR_INDEX.PINK, "warning": WD_COLOR_INDEX.YELLOW,
                   "suggestion": WD_COLOR_INDEX.TURQUOISE}
SEVERITY = ("suggestion", "warning", "error")


@dataclass(frozen=True)
class StyleSpec:
    """One paragraph style of the layout."""

    name: str
    style_id: str
    font: str
    size: Pt
    align: WD_ALIGN_PARAGRAPH | None = None
    indent: bool = True
    outline: int | None = None


STYLES = {
    "title": StyleSpec("公文标题", "ZJTitle", TITLE_FONT, SIZE_ER, WD_ALIGN_PARAGRAPH.CENTER, indent=False),
    "h1": StyleSpec("一级标题", "ZJHeading1", H1_FONT, SIZE_SAN, outline=0),
    "h2": StyleSpec("二级标题", "ZJHeading2", H2_FONT, SIZE_SAN, outline=1),
    "body": StyleSpec("公文正文", "ZJBody", BODY_FONT, SIZE_SAN, WD_ALIGN_PARAGRAPH.JUSTIFY),
}


# ------------------------------------------------------------------------------ fonts and styles

def set_east_asian_font(rpr_parent, east_asia: str, latin: str = LATIN_FONT) -> None:
    """Set ``w:rFonts`` on a run or style: ``eastAsia`` for Chinese, ``latin`` for ASCII; theme fonts dropped."""
    fonts = rpr_parent.get_or_add_rPr().get_or_add_rFonts()
    for attr in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
        fonts.attrib.pop(qn(attr), None)
    fonts.set(qn("w:ascii"), latin)
    fonts.set(qn("w:hAnsi"), latin)
    fonts.set(qn("w:eastAsia"), east_asia)
    fonts.set(qn("w:hint"), "eastAsia")


def register_fallbacks(document: DocumentObject, fallbacks: dict[str, str] = FALLBACKS) -> None:
    """Declare fonts in the font table with ``w:altName`` so Word substitutes missing ones."""
    part = document.part.part_related_by(RT.FONT_TABLE)
    root = etree.fromstring(part.blob)
    existing = {f.get(qn("w:name")): f for f in root.findall(qn("w:font"))}
    for name, alt in fallbacks.items():
        font = existing.get(name)
        if font is None:
            font = etree.SubElement(root, qn("w:font"), {qn("w:name"): name})
            etree.SubElement(font, qn("w:charset"), {qn("w:val"): "86"})
            etree.SubElement(font, qn("w:family"), {qn("w:val"): "auto"})
            etree.SubElement(font, qn("w:pitch"), {qn("w:val"): "variable"})
        if font.find(qn("w:altName")) is None:
            font.insert(0, etree.Element(qn("w:altName"), {qn("w:val"): alt}))
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _indent_two_chars(paragraph_format, size: Pt) -> None:
    """First-line indent of two characters (also as ``firstLineChars`` so Word keeps it in chars)."""
    paragraph_format.first_line_indent = Pt(size.pt * 2)
    ind = paragraph_format._element.get_or_add_pPr().find(qn("w:ind"))
    if ind is not None:
        ind.set(qn("w:firstLineChars"), "200")


def _add_style(document: DocumentObject, spec: StyleSpec):
    style = document.styles.add_style(spec.name, WD_STYLE_TYPE.PARAGRAPH)
    style.style_id = spec.style_id
    style.base_style = document.styles["Normal"]
    style.quick_style = True
    style.font.size = spec.size
    style.font.bold = False
    style.font.color.rgb = RGBColor(0, 0, 0)
    set_east_asian_font(style.element, spec.font)
    fmt = style.paragraph_format
    fmt.space_before = fmt.space_after = Pt(0)
    fmt.line_spacing = LINE if spec.size == SIZE_SAN else Pt(spec.size.pt * 1.5)
    if spec.align is not None:
        fmt.alignment = spec.align
    if spec.indent:
        _indent_two_chars(fmt, spec.size)
    if spec.outline is not None:
        fmt.keep_with_next = True
        ppr = style.element.get_or_add_pPr()
        ppr.append(ppr.makeelement(qn("w:outlineLvl"), {qn("w:val"): str(spec.outline)}))
    return style


def _setup(document: DocumentObject) -> None:
    """A4 page, 公文 margins, the four paragraph styles, font fallbacks and a page-number footer."""
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    for side, mm in MARGINS_MM.items():
        setattr(section, f"{side}_margin", Mm(mm))
    normal = document.styles["Normal"]
    normal.font.size = SIZE_SAN
    set_east_asian_font(normal.element, BODY_FONT)
    for spec in STYLES.values():
        _add_style(document, spec)
    register_fallbacks(document)
    _page_number_footer(section)


def _page_number_footer(section) -> None:
    """Centred “— N —” in 宋体 四号, N being a PAGE field."""
    paragraph = section.footer.paragraphs[0]
    paragraph.alignment = WD_ALIGN_PARAGRAPH.CENTER
    paragraph.paragraph_format.first_line_indent = Pt(0)

    def run(text: str = "", field: str | None = None, instruction: str | None = None) -> None:
        r = paragraph.add_run(text)
        r.font.size = SIZE_SI
        set_east_asian_font(r._element, TITLE_FALLBACK)
        if field:
            r._element.append(r._element.makeelement(qn("w:fldChar"), {qn("w:fldCharType"): field}))
        if instruction:
            r._element.append(parse_xml(f'<w:instrText {nsdecls("w")} xml:space="preserve">{instruction}</w:instrText>'))

    run("— ")
    run(field="begin")
    run(instruction=" PAGE ")
    run(field="separate")
    run("1")
    run(field="end")
    run(" —")


def new_document() -> DocumentObject:
    """An empty document in 公文 layout."""
    document = Document()
    _setup(document)
    return document


def _save(document: DocumentObject) -> bytes:
    buf = io.BytesIO()
    document.save(buf)
    return buf.getvalue()


# ------------------------------------------------------------------------------ drafts

def classify(line: str) -> tuple[str, str]:
    """(style key, text) of one Markdown line: ``#`` markers and emphasis removed, 一、/（一） detected."""
    stripped = line.strip()
    hashes = len(stripped) - len(stripped.lstrip("#"))
    text = re.sub(r"\*\*(.+?)\*\*|__(.+?)__", lambda m: m.group(1) or m.group(2), stripped.lstrip("#").strip())
    if H1.match(text):
        return "h1", text
    if H2.match(text):
        return "h2", text
    if hashes == 1:
        return "title", text
    if hashes >= 2:
        return ("h1" if hashes == 2 else "h2"), text
    return "body", text


def _add_text(paragraph: Paragraph, text: str, font: str) -> None:
    """Runs for ``text``; 【请补充…】/【待核实】 markers are highlighted so nobody submits them by mistake."""
    pos = 0
    for m in MARKER.finditer(text):
        if m.start() > pos:
            set_east_asian_font(paragraph.add_run(text[pos:m.start()])._element, font)
        marked = paragraph.add_run(m.group(0))
        marked.font.highlight_color = WD_COLOR_INDEX.YELLOW
        set_east_asian_font(marked._element, font)
        pos = m.end()
    if pos < len(text):
        set_east_asian_font(paragraph.add_run(text[pos:])._element, font)


def draft_to_docx(title: str, markdown_text: str) -> bytes:
    """A draft as a .docx in 公文 layout; a first line repeating ``title`` is not printed twice."""
    document = new_document()
    document.core_properties.title = title
    document.core_properties.author = COMMENT_AUTHOR
    lines = (markdown_text or "").splitlines()
    while lines and not lines[0].strip():
        lines.pop(0)
    if lines and classify(lines[0])[1] == title.strip():
        lines.pop(0)
    if title.strip():
        _add_text(document.add_paragraph(style=STYLES["title"].name), title.strip(), TITLE_FONT)
        document.add_paragraph(style=STYLES["body"].name)
    for line in lines:
        if not line.strip():
            continue
        key, text = classify(line)
        _add_text(document.add_paragraph(style=STYLES[key].name), text, STYLES[key].font)
    return _save(document)


# ------------------------------------------------------------------------------ critique comments

def _boundaries(start: int, end: int, spans: Sequence[tuple[int, int]]) -> list[int]:
    """Cut points inside [start, end]: the line's ends plus every span edge falling inside it."""
    cuts = {start, end}
    cuts.update(x for a, b in spans for x in (a, b) if start < x < end)
    return sorted(cuts)


def _anchor(f, lines: list[tuple[int, int]]) -> tuple[int, int]:
    """The span a finding's comment covers: its own, or (zero-length findings) the line it falls on."""
    if f.end > f.start:
        return f.start, f.end
    for a, b in lines:
        if b > a and f.start < b:
            return a, b
    return next(((a, b) for a, b in reversed(lines) if b > a), (0, 0))


def _comment_text(f) -> str:
    parts = [f"【{LEVEL_LABELS.get(f.level, f.level)}】{f.message}"]
    if f.detail:
        parts.append(f"（{f.detail}）")
    if f.suggestion:
        parts.append(f"建议：{f.suggestion}")
    if f.basis:
        parts.append(f"依据：{f.basis}")
    parts.append(f"规则：{f.rule}")
    return "\n".join(parts)


def critique_to_docx(text: str, findings: Iterable) -> bytes:
    """The reviewed text as a .docx with one Word comment (author 照镜) per finding, anchored on its span.

    Runs are split at every span boundary so each comment covers exactly its text; flagged runs are also
    highlighted (errors pink, warnings yellow, suggestions turquoise; the most severe wins on overlap).
    """
    document = new_document()
    findings = list(findings)
    lines, offset = [], 0
    for line in text.split("\n"):
        lines.append((offset, offset + len(line)))
        offset += len(line) + 1
    anchors = [_anchor(f, lines) for f in findings]
    pieces: list[tuple[int, int, Run]] = []
    for a, b in lines:
        paragraph = document.add_paragraph(style=STYLES["body"].name)
        cuts = _boundaries(a, b, anchors)
        for x, y in zip(cuts, cuts[1:], strict=False):
            run = paragraph.add_run(text[x:y])
            set_east_asian_font(run._element, BODY_FONT)
            pieces.append((x, y, run))
    order = sorted(range(len(findings)), key=lambda i: SEVERITY.index(findings[i].level)
                   if findings[i].level in SEVERITY else 0)
    for i in order:
        a, b = anchors[i]
        for x, y, run in pieces:
            if x < b and a < y:
                run.font.highlight_color = LEVEL_HIGHLIGHT.get(findings[i].level, WD_COLOR_INDEX.YELLOW)
    for f, (a, b) in zip(findings, anchors, strict=True):
        runs = [r for x, y, r in pieces if x < b and a < y]
        if runs:
            document.add_comment(runs, text=_comment_text(f), author=COMMENT_AUTHOR, initials=COMMENT_INITIALS)
    return _save(document)
