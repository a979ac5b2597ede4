"""Chinese-aware chunking for 公文-style documents.

Lines are classified as headings (``一、`` ``（一）`` ``1.`` ``（1）`` ``第X章/节`` markdown ``#``) or paragraphs.
A heading always travels with the body that follows it; numbered items (``一是…`` ``1.`` ``第X条``) are
never cut unless a single item is longer than ``hard_max``; small pieces are merged up to ``max_chars``,
and over-long paragraphs are split at item boundaries first, then at sentence ends (。！？；).

Every chunk's ``text`` is exactly ``document_text[start:end]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

CHUNKER_VERSION = "1"
MAX_CHARS = 500
TARGET_CHARS = 400
MIN_CHARS = 150
HARD_MAX = 800

_CN = "一二三四五六七八九十百零〇"
_NUMBERED = (
    ("chapter", re.compile(rf"^第[{_CN}\d]+章")),
    ("section", re.compile(rf"^第[{_CN}\d]+节")),
    ("article", re.compile(rf"^第[{_CN}\d]+条")),
    ("cn", re.compile(rf"^[{_CN}]+[、.．]")),
    ("pcn", re.compile(rf"^[（(][{_CN}]+[)）]")),
    ("num", re.compile(r"^\d{1,2}[.．、](?!\d)")),
    ("pnum", re.compile(r"^[（(]\d{1,2}[)）]")),
    ("circle", re.compile(r"^[①-⑳]")),
    ("shi", re.compile(rf"^[{_CN}]+是")),
)
_HEADING_TYPES = {"chapter", "section", "cn", "pcn", "num", "pnum"}
_MD_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$")
_CLOSING = "。；！？.;!?"
_ITEM_BOUNDARY = re.compile(
    rf"(?<=[。；！？!?;\s])(?=[{_CN}]+是|[（(]\d{{1,2}}[)）]|[①-⑳]|\d{{1,2}}[.．、](?!\d)|第[{_CN}\d]+条)"
)
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")


@dataclass
class Chunk:
    """A piece of a document; ``metadata`` is filled by the store (source, title, kind, year, …)."""

    text: str
    start: int
    end: int
    ordinal: int
    heading_path: str = ""
    paragraph: int = 1
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Block:
    start: int
    end: int
    heading: bool
    path: str
    para: int


def _numbered_type(line: str) -> str | None:
    for name, pattern in _NUMBERED:
        if pattern.match(line):
            return name
    return None


def classify_line(line: str) -> tuple[str, int] | None:
    """Heading type and markdown level for a heading line, or None for body text.

    A numbered line counts as a heading only when it is short and does not end like a sentence;
    otherwise it is a numbered item (body).
    """
    md = _MD_HEADING.match(line)
    if md:
        return f"md{len(md.group(1))}", len(md.group(1))
    kind = _numbered_type(line)
    if kind in ("chapter", "section"):
        return kind, 0
    if kind in _HEADING_TYPES and len(line) <= 40 and line[-1] not in _CLOSING:
        return kind, 0
    return None


def _label(line: str) -> str:
    md = _MD_HEADING.match(line)
    text = md.group(2) if md else line
    return text.strip().rstrip("：:").strip()


def _same_title(label: str, title: str | None) -> bool:
    def norm(s: str) -> str:
        return re.sub(r"[《》\s]", "", s)

    a, b = norm(label), norm(title or "")
    return bool(a and b) and (a == b or a in b or b in a)


def _push(stack: list[tuple[str, int, str]], kind: str, level: int, label: str) -> None:
    for i, (k, lvl, _) in enumerate(stack):
        if k == kind or (level and lvl and lvl >= level):
            del stack[i:]
            break
    stack.append((kind, level, label))


def _lines(text: str) -> list[tuple[int, int]]:
    """(start, end) of every non-blank line, trimmed of surrounding whitespace."""
    spans = []
    for match in re.finditer(r"[^\n]+", text):
        line = match.group(0)
        stripped = line.strip()
        if stripped:
            offset = match.start() + (len(line) - len(line.lstrip()))
            spans.append((offset, offset + len(stripped)))
    return spans


def _blocks(text: str, title: str | None) -> list[_Block]:
    blocks: list[_Block] = []
    stack: list[tuple[str, int, str]] = []
    para = 0
    for start, end in _lines(text):
        line = text[start:end]
        heading = classify_line(line)
        if heading:
            label = _label(line)
            is_title = heading[0] == "md1" and not stack and not blocks
            if not (is_title or _same_title(label, title)):
                _push(stack, heading[0], heading[1], label)
            para = 0
            blocks.append(_Block(start, end, True, " > ".join(s[2] for s in stack), 1))
            continue
        para += 1
        path = " > ".join(s[2] for s in stack)
        blocks.extend(_Block(s, e, False, path, para) for s, e in split_long(text, start, end))
    return blocks


def _group(spans: list[tuple[int, int]], limit: int) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for s, e in spans:
        if out and e - out[-1][0] <= limit:
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def _cut(text: str, start: int, end: int, pattern: re.Pattern[str]) -> list[tuple[int, int]]:
    points = [start] + [start + m.start() for m in pattern.finditer(text[start:end]) if 0 < m.start() < end - start]
    points.append(end)
    spans = [(a, b) for a, b in zip(points, points[1:], strict=False) if b > a]
    return [(a + len(text[a:b]) - len(text[a:b].lstrip()), b - (len(text[a:b]) - len(text[a:b].rstrip())))
            for a, b in spans if text[a:b].strip()]


def split_long(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """Split ``text[start:end]`` when longer than ``MAX_CHARS``: at item boundaries (一是/（1）/①),
    then at sentence ends, finally hard cuts. Items up to ``HARD_MAX`` stay whole."""
    if end - start <= MAX_CHARS:
        return [(start, end)]
    pieces: list[tuple[int, int]] = []
    for s, e in _cut(text, start, end, _ITEM_BOUNDARY):
        if e - s <= HARD_MAX:
            pieces.append((s, e))
            continue
        for ss, se in _group(_cut(text, s, e, _SENTENCE_END), TARGET_CHARS):
            pieces.extend((i, min(i + TARGET_CHARS, se)) for i in range(ss, se, TARGET_CHARS))
    return _group(pieces, TARGET_CHARS)


def _flush(text: str, current: list[_Block], chunks: list[Chunk]) -> None:
    if not current:
        return
    first_body = next((b for b in current if not b.heading), None)
    start, end = current[0].start, current[-1].end
    last = chunks[-1] if chunks else None
    trailing_headings = first_body is None
    small_tail = (
        first_body is not None and not current[0].heading and end - start < MIN_CHARS
        and last is not None and last.heading_path == first_body.path and end - last.start <= HARD_MAX
    )
    if last is not None and (trailing_headings or small_tail):
        last.end = end
        last.text = text[last.start : last.end]
        return
    anchor = first_body or current[-1]
    chunks.append(Chunk(text[start:end], start, end, len(chunks), anchor.path, anchor.para))


def chunk_text(text: str, *, title: str | None = None) -> list[Chunk]:
    """Split a document body into chunks with ``heading_path``, ``start``/``end`` offsets and ``ordinal``.

    ``title`` (the document title) is left out of heading paths when it also appears as a heading.
    """
    chunks: list[Chunk] = []
    current: list[_Block] = []
    for block in _blocks(text, title):
        has_body = any(not b.heading for b in current)
        body = sum(b.end - b.start for b in current if not b.heading)
        too_long = block.end - (current[0].start if current else block.start) > MAX_CHARS
        if has_body and (block.heading or (too_long and body >= MIN_CHARS)):
            _flush(text, current, chunks)
            current = []
        current.append(block)
    _flush(text, current, chunks)
    return chunks
