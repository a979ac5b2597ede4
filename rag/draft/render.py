"""Render a structured Draft as Markdown in the genre's numbering (一、 → （一） → 一是… / 1.)."""

from __future__ import annotations

from rag.draft.schemas import Draft, DraftPart
from rag.frames import aspect_heading
from rag.genre import PART_TITLES, cn_number

__all__ = ["PART_TITLES", "cn", "to_markdown"]
cn = cn_number


def _render_items(part: DraftPart, spans: dict[str, tuple[int, int]], buf: list[str], pos: int) -> int:
    aspect, n, k = object(), 0, 0
    for it in part.items:
        if part.kind == "problems" and it.aspect != aspect:
            aspect, n = it.aspect, 0
            k += 1
            line = f"（{cn(k)}）{aspect_heading(it.aspect)}" if it.aspect else f"（{cn(k)}）"
            buf.append(line + "\n")
            pos += len(line) + 1
        n += 1
        if part.kind == "measures":
            prefix = f"{n}."
        elif part.kind in ("problems", "causes"):
            prefix = f"{cn(n)}是"
        else:
            prefix = ""
        line = prefix + it.text
        spans[it.id] = (pos, pos + len(line))
        buf.append(line + "\n")
        pos += len(line) + 1
    return pos


def to_markdown(draft: Draft, with_spans: bool = False):
    """The draft as text; with ``with_spans`` also a map item id → (start, end) in that text."""
    buf: list[str] = [draft.title + "\n\n"]
    pos = len(buf[0])
    spans: dict[str, tuple[int, int]] = {}
    section = 0
    for part in draft.parts:
        if part.kind == "opening":
            for it in part.items:
                spans[it.id] = (pos, pos + len(it.text))
                buf.append(it.text + "\n\n")
                pos += len(it.text) + 2
            continue
        section += 1
        head = f"{cn(section)}、{part.title}\n"
        buf.append(head)
        pos += len(head)
        pos = _render_items(part, spans, buf, pos)
        buf.append("\n")
        pos += 1
    text = "".join(buf).rstrip() + "\n"
    return (text, spans) if with_spans else text
