"""Read .md / .txt / .docx / .pdf files into plain text plus metadata.

Markdown and text files may start with a YAML front matter block (``---`` … ``---``) whose fields
(title, kind, year, meeting_type, unit, frame, quality, doc_name, doc_date, tags) become metadata.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rag.draft.injection import neutralize
from rag.errors import InputError

KINDS = ("policy", "past_material", "exemplar", "case")
FOLDER_KINDS = {
    "policy": "policy",
    "policies": "policy",
    "past": "past_material",
    "past_material": "past_material",
    "past_materials": "past_material",
    "exemplar": "exemplar",
    "exemplars": "exemplar",
    "case": "case",
    "cases": "case",
}
DEFAULT_KIND = "past_material"
DEFAULT_MAX_FILE_MB = 20
TEXT_SUFFIXES = (".md", ".markdown", ".txt")
SUPPORTED_SUFFIXES = (*TEXT_SUFFIXES, ".docx", ".pdf")

_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?)\n(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)
_YEAR_IN_TITLE = re.compile(r"(20\d{2})\s*年度?")
_YEAR_IN_NAME = re.compile(r"(?<!\d)(20\d{2})(?!\d)")
_SENTENCE_END = "。！？；：.!?;:…”’」』）)】"


@dataclass
class Document:
    """A loaded file: ``text`` is the body (front matter removed); offsets of chunks refer to it."""

    path: Path
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        """Display title (always present after loading)."""
        return str(self.metadata.get("title") or self.path.stem)

    @property
    def kind(self) -> str:
        """Document kind: policy | past_material | exemplar | case."""
        return str(self.metadata.get("kind") or DEFAULT_KIND)


def max_file_bytes() -> int:
    """Upload size limit in bytes (``Settings.max_file_mb`` when defined, else 20 MB)."""
    from rag.config import get_settings

    megabytes = getattr(get_settings(), "max_file_mb", None) or DEFAULT_MAX_FILE_MB
    return int(float(megabytes) * 1024 * 1024)


def load_document(path: str | Path, *, kind: str | None = None, max_bytes: int | None = None) -> Document:
    """Load one file into a ``Document``; raises ``InputError`` (Chinese) for anything unreadable.

    ``kind`` overrides the front matter and the folder name; otherwise the front matter wins, then the
    folder name (policy/past/exemplars/cases), then ``past_material``.
    """
    path = Path(path)
    check_file(path, max_bytes if max_bytes is not None else max_file_bytes())
    suffix = path.suffix.lower()
    if suffix in TEXT_SUFFIXES:
        text, metadata = _split_front_matter(decode_text(path.read_bytes(), path.name), path.name)
    elif suffix == ".docx":
        text, metadata = read_docx(path), {}
    elif suffix == ".pdf":
        text, metadata = read_pdf(path)
    else:
        raise InputError(f"不支持的文件类型：{path.name}", "目前支持 .md、.txt、.docx、.pdf；.doc 请先另存为 .docx")
    text = _normalize_text(text)
    if not text.strip():
        raise InputError(f"文件没有可用的文字内容：{path.name}", "请检查文件是否为空")
    return Document(path=path, text=text, metadata=_complete_metadata(metadata, text, path, kind))


def check_file(path: Path, limit: int) -> None:
    """Raise ``InputError`` when ``path`` is missing or larger than ``limit`` bytes."""
    if not path.is_file():
        raise InputError(f"找不到文件：{path}", "请检查路径是否正确")
    size = path.stat().st_size
    if size > limit:
        raise InputError(
            f"文件过大：{path.name}（{size / 1024 / 1024:.1f} MB，上限 {limit / 1024 / 1024:.0f} MB）",
            "请拆分文件或删除其中的图片后再导入",
        )


def decode_text(data: bytes, name: str = "") -> str:
    """Decode bytes as UTF-8 (with or without BOM), UTF-16 with BOM (Windows “Unicode”), or GB18030 (covers
    GBK/GB2312). Bytes with NUL characters that are not UTF-16 are refused as binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            pass
    elif b"\x00" in data:
        raise InputError(f"这不是文本文件（可能是 Word、PDF、图片或压缩包）：{name}",
                         "请上传 .docx/.pdf 原文件，或把内容另存为 UTF-8 编码的 .txt 后再导入")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError(f"无法识别文件编码：{name}", "请将文件另存为 UTF-8 编码后再导入")


def _normalize_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u3000", " ").replace("\ufeff", "")
    text = neutralize(text)  # invisible characters and chat control tokens (prompt-injection defence)
    return "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")


def _split_front_matter(text: str, name: str) -> tuple[str, dict[str, Any]]:
    text = text.replace("\r\n", "\n").lstrip("\ufeff")
    match = _FRONT_MATTER.match(text)
    if not match:
        return text, {}
    try:
        data = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError as exc:
        raise InputError(f"文件开头的元数据（YAML）格式有误：{name}", f"请检查 --- 之间的内容（{exc}）") from exc
    if not isinstance(data, dict):
        raise InputError(f"文件开头的元数据应为“字段: 值”的形式：{name}", "请检查 --- 之间的内容")
    return text[match.end() :], {str(k): v for k, v in data.items()}


def _scalar(value: Any) -> Any:
    if isinstance(value, dt.date | dt.datetime):
        return value.isoformat()
    if isinstance(value, list | tuple | set):
        return ",".join(str(v) for v in value)
    if isinstance(value, dict):
        return str(value)
    return value


def kind_from_path(path: Path) -> str | None:
    """Kind implied by the nearest of the last three folders named policy / past / exemplars / cases."""
    for part in reversed(path.parent.parts[-3:]):
        if part.lower() in FOLDER_KINDS:
            return FOLDER_KINDS[part.lower()]
    return None


def _resolve_kind(explicit: str | None, meta_kind: Any, path: Path) -> str:
    for candidate in (explicit, meta_kind):
        if candidate:
            value = FOLDER_KINDS.get(str(candidate).strip().lower())
            if value is None:
                raise InputError(f"未知的材料类型：{candidate}", "可选值为 policy、past_material、exemplar、case")
            return value
    return kind_from_path(path) or DEFAULT_KIND


def _guess_title(text: str, path: Path) -> str:
    for line in text.split("\n")[:5]:
        line = line.strip().lstrip("#").strip()
        if line:
            return line if len(line) <= 60 else path.stem
    return path.stem


def _guess_year(title: str, path: Path) -> int | None:
    match = _YEAR_IN_TITLE.search(title) or _YEAR_IN_NAME.search(path.stem)
    return int(match.group(1)) if match else None


def _guess_meeting_type(title: str) -> str | None:
    for word, label in (("支部", "支部"), ("班子", "班子"), ("发言提纲", "个人"), ("个人", "个人")):
        if word in title:
            return label
    return None


def _complete_metadata(raw: dict[str, Any], text: str, path: Path, kind: str | None) -> dict[str, Any]:
    meta = {k: _scalar(v) for k, v in raw.items() if v is not None and v != ""}
    meta["kind"] = _resolve_kind(kind, meta.get("kind"), path)
    meta["title"] = str(meta.get("title") or _guess_title(text, path)).strip()
    year = meta.get("year")
    if isinstance(year, str) and year.strip().isdigit():
        year = int(year.strip())
    meta["year"] = year if isinstance(year, int) else _guess_year(meta["title"], path)
    meta.setdefault("meeting_type", _guess_meeting_type(meta["title"]))
    return {k: v for k, v in meta.items() if v is not None}


# --------------------------------------------------------------------------------------- docx


def read_docx(path: Path) -> str:
    """Paragraphs and tables in body order; auto-numbering (一、/（一）/1.) is rendered as text."""
    if path.read_bytes()[:4] == b"\xd0\xcf\x11\xe0":
        raise InputError(
            f"该Word文件已加密或是旧版 .doc 格式：{path.name}", "请去掉打开密码，并用 Word/WPS 另存为 .docx 后再导入"
        )
    try:
        import docx

        document = docx.Document(str(path))
        return "\n".join(_docx_blocks(document))
    except InputError:
        raise
    except Exception as exc:  # python-docx raises many types for broken packages
        raise InputError(f"无法读取该Word文件（文件可能已损坏）：{path.name}", "请用 Word/WPS 打开后重新另存为 .docx") from exc


def _docx_blocks(document: Any) -> list[str]:
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    numbering = _Numbering(document)
    lines: list[str] = []
    for child in document.element.body.iterchildren():
        tag = child.tag.rsplit("}", 1)[-1]
        if tag == "p":
            line = _docx_paragraph(Paragraph(child, document), numbering)
            if line:
                lines.append(line)
        elif tag == "tbl":
            lines.extend(_docx_table(Table(child, document)))
    return lines


def _docx_paragraph(paragraph: Any, numbering: _Numbering) -> str:
    text = paragraph.text.strip()
    if not text:
        return ""
    text = numbering.label(paragraph) + text
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    match = re.match(r"(?:heading|标题)\s*(\d)", style, re.I)
    if style == "Title":
        return f"# {text}"
    if match:
        return "#" * min(int(match.group(1)) + 1, 6) + " " + text
    return text


def _docx_table(table: Any) -> list[str]:
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            value = " ".join(cell.text.split())
            if not cells or cells[-1] != value:  # merged cells repeat their text
                cells.append(value)
        if any(cells):
            rows.append(" | ".join(cells))
    return rows


_CN_DIGITS = "零一二三四五六七八九"


def chinese_number(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 21 → 二十一 (enough for list numbering)."""
    if n < 10:
        return _CN_DIGITS[n]
    if n < 20:
        return "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    if n < 100:
        return _CN_DIGITS[n // 10] + "十" + (_CN_DIGITS[n % 10] if n % 10 else "")
    return str(n)


def _format_number(n: int, fmt: str) -> str:
    if fmt.startswith("chinese") or fmt.startswith("ideograph") or fmt == "taiwaneseCounting":
        return chinese_number(n)
    if fmt == "lowerLetter":
        return chr(ord("a") + (n - 1) % 26)
    if fmt == "upperLetter":
        return chr(ord("A") + (n - 1) % 26)
    if fmt == "decimalEnclosedCircle" or fmt == "decimalEnclosedCircleChinese":
        return chr(0x2460 + n - 1) if 1 <= n <= 20 else str(n)
    if fmt in ("lowerRoman", "upperRoman"):
        roman = _roman(n)
        return roman.lower() if fmt == "lowerRoman" else roman
    if fmt in ("none", "bullet"):
        return ""
    return str(n)


def _roman(n: int) -> str:
    out = ""
    for value, sym in ((10, "X"), (9, "IX"), (5, "V"), (4, "IV"), (1, "I")):
        while n >= value:
            out, n = out + sym, n - value
    return out


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _level_spec(lvl: Any) -> tuple[str, str, int]:
    """(number format, level text such as '%1、', start value) of one ``w:lvl`` element."""
    fmt, text, start = lvl.find(_W + "numFmt"), lvl.find(_W + "lvlText"), lvl.find(_W + "start")
    return (
        fmt.get(_W + "val", "decimal") if fmt is not None else "decimal",
        text.get(_W + "val", "") if text is not None else "",
        int(start.get(_W + "val", "1")) if start is not None else 1,
    )


class _Numbering:
    """Minimal renderer for Word automatic numbering (numbering.xml): counters per list and level."""

    def __init__(self, document: Any) -> None:
        self._levels: dict[tuple[str, int], tuple[str, str, int]] = {}
        self._counters: dict[str, list[int]] = {}
        try:
            root = document.part.numbering_part.element
        except (KeyError, NotImplementedError, AttributeError):
            return
        abstract = {
            node.get(_W + "abstractNumId"): {int(lvl.get(_W + "ilvl", "0")): _level_spec(lvl)
                                             for lvl in node.findall(_W + "lvl")}
            for node in root.findall(_W + "abstractNum")
        }
        for num in root.findall(_W + "num"):
            ref = num.find(_W + "abstractNumId")
            levels = abstract.get(ref.get(_W + "val") if ref is not None else None, {})
            for ilvl, spec in levels.items():
                self._levels[(num.get(_W + "numId"), ilvl)] = spec

    def label(self, paragraph: Any) -> str:
        """Rendered number text for a numbered paragraph, '' otherwise."""
        num_id, ilvl = self._num_props(paragraph)
        if num_id is None or (num_id, ilvl) not in self._levels:
            return ""
        counters = self._counters.setdefault(num_id, [0] * 9)
        counters[ilvl] += 1
        for deeper in range(ilvl + 1, 9):
            counters[deeper] = 0
        fmt, template, _ = self._levels[(num_id, ilvl)]
        if fmt in ("bullet", "none"):
            return ""

        def render(match: re.Match[str]) -> str:
            level = int(match.group(1)) - 1
            spec = self._levels.get((num_id, level), ("decimal", "", 1))
            value = counters[level] + spec[2] - 1 if counters[level] else spec[2]
            return _format_number(value, spec[0])

        return re.sub(r"%(\d)", render, template)

    @staticmethod
    def _num_props(paragraph: Any) -> tuple[str | None, int]:
        p_pr = paragraph._p.pPr
        num_pr = p_pr.numPr if p_pr is not None else None
        if num_pr is None and paragraph.style is not None:
            style_ppr = paragraph.style.element.pPr
            num_pr = style_ppr.numPr if style_ppr is not None else None
        if num_pr is None or num_pr.numId is None:
            return None, 0
        ilvl = num_pr.ilvl.val if num_pr.ilvl is not None else 0
        return str(num_pr.numId.val), int(ilvl)


# ---------------------------------------------------------------------------------------- pdf


def read_pdf(path: Path) -> tuple[str, dict[str, Any]]:
    """Text layer of a PDF with lines broken mid-sentence joined back together."""
    logging.getLogger("pypdf").setLevel(logging.ERROR)  # malformed files are reported by us, in Chinese
    try:
        from pypdf import PdfReader

        reader = PdfReader(str(path))
        if reader.is_encrypted and not reader.decrypt(""):
            raise InputError(f"该PDF已加密：{path.name}", "请先解除密码保护，或提供未加密的版本")
        pages = [page.extract_text() or "" for page in reader.pages]
        title = (reader.metadata or {}).get("/Title") if reader.metadata else None
    except InputError:
        raise
    except Exception as exc:  # pypdf raises many types for broken or encrypted files
        if "encrypt" in str(exc).lower() or "decrypt" in str(exc).lower():
            raise InputError(f"该PDF已加密：{path.name}", "请先解除密码保护，或提供未加密的版本") from exc
        raise InputError(f"无法读取该PDF文件（文件可能已损坏）：{path.name}", "请重新导出PDF，或改用Word版") from exc
    text = join_broken_lines(pages)
    if len(re.sub(r"\s", "", text)) < 10:
        raise InputError(
            f"该PDF没有文字层（可能是扫描件或图片）：{path.name}", "请先用OCR软件识别成文字，或提供Word/文本版本"
        )
    title = str(title or "").strip()
    junk = re.search(r"^microsoft|^untitled|\.(docx?|pdf|wps)$", title, re.I)
    return text, ({"title": title} if title and not junk else {})


_PAGE_NUMBER = re.compile(r"^[\s\-—–·]*(第\s*)?\d+\s*(页)?[\s\-—–·]*$|^[\s\-—–]*\d+\s*/\s*\d+[\s\-—–]*$")
_STARTS_ITEM = re.compile(
    r"^(#|[一二三四五六七八九十]+、|[（(][一二三四五六七八九十\d]+[)）]|\d+[.、．]|第[一二三四五六七八九十百\d]+[条章节])"
)


def join_broken_lines(pages: list[str]) -> str:
    """Join lines a PDF broke mid-sentence (full-width line without closing punctuation), across pages
    too; drop bare page numbers. Short lines (headings, last lines of paragraphs) end a paragraph."""
    out: list[str] = []
    prev_full = False
    for page in pages:
        lines = [ln.strip() for ln in page.replace("\r", "\n").split("\n")]
        lines = [ln for ln in lines if ln and not _PAGE_NUMBER.match(ln)]
        width = _line_width(lines)
        for line in lines:
            if out and prev_full and out[-1][-1] not in _SENTENCE_END and not _STARTS_ITEM.match(line):
                glue = " " if out[-1][-1].isascii() and out[-1][-1].isalnum() and line[0].isascii() else ""
                out[-1] += glue + line
            else:
                out.append(line)
            prev_full = len(line) >= 0.8 * width
    return "\n".join(out)


def _line_width(lines: list[str]) -> float:
    """Typical full line length on a page (90th percentile), at least 10 characters."""
    if not lines:
        return 10.0
    lengths = sorted(len(ln) for ln in lines)
    return max(10.0, float(lengths[int(0.9 * (len(lengths) - 1))]))
