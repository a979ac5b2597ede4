"""Split a draft into parts (opening, 问题, 原因, 措施, …) and items, with offsets into the original text.

Real drafts arrive pasted from Word or PDF: soft line breaks inside sentences, mixed full/half-width
brackets, unusual heading wording, blank lines. We work on a normalised copy (soft breaks removed) and keep
an index map so that every offset we report points into the text the user gave.
"""

from __future__ import annotations

import re
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

CN_NUM = "一二三四五六七八九十"
SENTENCE_END = "。！？；：…!?;:”’）)】"

# Heading markers by level. Level 1: 一、 / 第一部分; level 2: （一）; level 3: 1. / 1、; level 4: （1）.
HEADING_PATTERNS: list[tuple[int, re.Pattern[str]]] = [
    (1, re.compile(rf"^\s*(?:#+\s*)?(?:第([{CN_NUM}]+)部分|([{CN_NUM}]+)[、.．])")),
    (2, re.compile(rf"^\s*[（(]([{CN_NUM}]+)[）)]")),
    (3, re.compile(r"^\s*(\d{1,2})(?:[.．、](?!\d)|[.．](?=\d{4}\s*年)|\s)")),  # 1.2026年… is item 1
    (4, re.compile(r"^\s*[（(](\d{1,2})[）)]")),
]
SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")  # also in predicates.sentence_around
INLINE_ITEM = re.compile(rf"(?:^|(?<=[。；;！？：:\s]))([{CN_NUM}]是)")

PART_KEYWORDS: list[tuple[str, tuple[str, ...]]] = [
    ("rectification", ("上年度", "上一年度", "上次民主生活会", "上次组织生活会", "整改落实情况", "整改情况",
                       "去年", "上年")),
    ("case", ("反面典型", "典型案例", "案例剖析", "以案促改", "以案为鉴", "警示")),
    ("causes", ("原因", "根源", "剖析", "根子")),
    ("measures", ("整改措施", "努力方向", "整改方向", "下一步", "改进措施", "整改举措", "措施", "今后", "打算")),
    ("problems", ("存在的问题", "存在问题", "问题查摆", "查摆问题", "突出问题", "主要问题", "检视问题",
                  "查找问题", "对照检查", "问题清单", "检视剖析", "差距和不足", "不足", "查摆的问题", "查摆出的问题",
                  "检视出的问题", "检视的问题", "查找的问题", "查找出的问题", "梳理出的问题", "具体问题", "问题表现")),
]
_PART_PATTERNS = [(kind, re.compile("|".join(map(re.escape, words)))) for kind, words in PART_KEYWORDS]
# A bare line (no number) is a part heading when it is short, unpunctuated and names a part, but not a title.
BARE_HEADING_MAX = 16
NOT_BARE = re.compile(r"材料|提纲|发言|报告|汇报|生活会|对照检查|[，。；;！？、,.]")
# Paragraphs inside 问题 that are really 上年度整改 or 案例剖析 (they open with these words).
EXTRA_LEAD = {
    "rectification": re.compile(r"^(?:（[一二三四五六七八九十]）|[一二三四五六七八九十]是)?(?:关于|对照)?"
                                r"(?:上年度|上一年度|去年|上次|\d{4}年度)[^。]{0,24}整改"),
    "case": re.compile(r"^(?:（[一二三四五六七八九十]）)?[^。]{0,12}(?:反面典型|典型案例|案例剖析|以案促改|以案为鉴)"),
}
MAIN_PARTS = ("problems", "causes", "measures")
PART_LABELS = {
    "title": "标题", "opening": "开头", "problems": "问题", "causes": "原因", "measures": "措施",
    "rectification": "上年度整改", "case": "案例剖析", "other": "其他", "document": "全文",
}


@dataclass
class Heading:
    """A heading line: level (1–4), its number as written, text, and span in normalised text."""

    level: int
    number: str
    text: str
    start: int
    end: int


@dataclass
class Item:
    """A numbered or inline item (一是…, 1., （1）) or an unnumbered paragraph inside a part."""

    text: str
    start: int
    end: int
    part: str
    aspect: str | None = None
    marker: str = ""


@dataclass
class Part:
    """A section of the draft with its heading, aspect headings and items."""

    kind: str
    start: int
    end: int
    heading: Heading | None = None
    aspects: list[Heading] = field(default_factory=list)
    items: list[Item] = field(default_factory=list)


@dataclass
class ParsedDraft:
    """The parse result. ``norm`` is the normalised text; ``to_original`` maps its offsets back."""

    text: str
    norm: str
    index: list[int]
    headings: list[Heading]
    parts: list[Part]
    paragraphs: list[tuple[int, int]]
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a [start, end) span of the normalised text to the original text."""
        if not self.index:
            return 0, 0
        start = min(max(start, 0), len(self.index) - 1)
        end = min(max(end, start + 1), len(self.index))
        return self.index[start], self.index[end - 1] + 1

    def clean_len(self, start: int = 0, end: int | None = None) -> int:
        """Characters of ``norm[start:end]`` without whitespace and punctuation (memoised per span)."""
        key = ("clean_len", start, end)
        if key not in self._memo:
            from rag.critic.similarity import clean

            self._memo[key] = len(clean(self.norm[start:end]))
        return self._memo[key]

    def parts_of(self, *kinds: str) -> list[Part]:
        """All parts of the given kinds, in document order."""
        return [p for p in self.parts if p.kind in kinds]

    def items_of(self, *kinds: str) -> list[Item]:
        """All items of parts of the given kinds."""
        return [it for p in self.parts_of(*kinds) for it in p.items]

    def part_at(self, pos: int) -> str:
        """The kind of part containing a normalised offset."""
        for p in self.parts:
            if p.start <= pos < p.end:
                return p.kind
        return "other"

    def item_at(self, pos: int) -> Item | None:
        """The item containing a normalised offset (items never overlap), found by bisection."""
        if "items" not in self._memo:
            items = sorted((it for p in self.parts for it in p.items), key=lambda it: it.start)
            self._memo["items"] = ([it.start for it in items], items)
        starts, items = self._memo["items"]
        i = bisect_right(starts, pos) - 1
        return items[i] if i >= 0 and pos < items[i].end else None

    def sentence_at(self, start: int, end: int) -> tuple[int, int]:
        """The sentence of ``norm`` containing [start, end) (same result as ``predicates.sentence_around``)."""
        if "sentences" not in self._memo:
            spans = [m.span() for m in SENTENCE.finditer(self.norm)]
            self._memo["sentences"] = ([a for a, _ in spans], spans)
        starts, spans = self._memo["sentences"]
        i = bisect_right(starts, start) - 1
        if i >= 0 and start < spans[i][1]:
            return spans[i][0], max(spans[i][1], end)
        return start, end

    def part_text(self, *kinds: str) -> str:
        """Concatenated normalised text of the given part kinds."""
        return "\n".join(self.norm[p.start:p.end] for p in self.parts_of(*kinds))


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or ch in "，、“”《》（）"


def _heading_of(line: str) -> tuple[int, str] | None:
    for level, pat in HEADING_PATTERNS:
        m = pat.match(line)
        if m:
            return level, next(g for g in m.groups() if g)
    if line.lstrip().startswith("#"):
        return 1, ""
    if _bare_heading(line):
        return 1, ""
    return None


def _bare_heading(line: str) -> bool:
    """A short unnumbered line that names a part (“整改措施”, “根源分析：”), not a title or a sentence."""
    t = line.strip().rstrip("：:")
    if not t or len(t) > BARE_HEADING_MAX or NOT_BARE.search(t):
        return False
    return _classify(t) is not None


def _starts_block(line: str) -> bool:
    s = line.strip()
    return not s or _heading_of(s) is not None or bool(re.match(rf"^[{CN_NUM}]是", s))


def normalise(text: str) -> tuple[str, list[int]]:
    """Remove soft line breaks (a break inside a sentence, as PDFs produce) and carriage returns.

    Returns the normalised text and, for each of its characters, the index in ``text``.
    """
    ws = " \t\u3000"
    out: list[str] = []
    index: list[int] = []
    lines = text.split("\n")
    pos, skip = 0, 0
    for i, line in enumerate(lines):
        raw = line[:-1] if line.endswith("\r") else line
        out.extend(raw[skip:])
        index.extend(range(pos + skip, pos + len(raw)))
        line_end = pos + len(line)
        pos = line_end + 1
        if i == len(lines) - 1:
            break
        nxt = lines[i + 1].rstrip("\r")
        stripped = raw.rstrip()
        soft = (
            len(stripped) >= 12 and stripped[-1] not in SENTENCE_END and _is_cjk(stripped[-1])
            and not _starts_block(nxt) and (_heading_of(stripped.strip()) is None or _mid_sentence(stripped))
        )
        if soft:
            while out and out[-1] in ws:
                out.pop()
                index.pop()
            skip = len(nxt) - len(nxt.lstrip(ws))
        else:
            out.append("\n")
            index.append(line_end)
            skip = 0
    return "".join(out), index


def _mid_sentence(line: str) -> bool:
    """A numbered line that breaks off inside a sentence (ends with ，/、 or already holds a full stop)."""
    return line[-1] in "，、" or bool(re.search(r"[。；;！？]", line[:-1]))


def _classify(text: str) -> str | None:
    t = re.sub(r"\s", "", text)
    if len(t) > 60:
        return None
    for kind, pattern in _PART_PATTERNS:
        if pattern.search(t):
            return kind
    return None


def _lines(norm: str) -> list[tuple[int, int]]:
    spans, start = [], 0
    for m in re.finditer("\n", norm):
        spans.append((start, m.start()))
        start = m.end()
    spans.append((start, len(norm)))
    return spans


def _trim(norm: str, s: int, e: int) -> tuple[int, int]:
    while s < e and norm[s] in " \t\u3000\r\n":
        s += 1
    while e > s and norm[e - 1] in " \t\u3000\r\n":
        e -= 1
    return s, e


def _find_headings(norm: str, lines: list[tuple[int, int]]) -> list[Heading]:
    heads = []
    for s, e in lines:
        s, e = _trim(norm, s, e)
        if s == e:
            continue
        h = _heading_of(norm[s:e])
        if h:
            heads.append(Heading(level=h[0], number=h[1], text=norm[s:e], start=s, end=e))
    return heads


def _is_short_heading(h: Heading) -> bool:
    body = h.text.rstrip()
    return len(body) <= 60 and not re.search(r"[。！？]", body[:-1] if body else body)


def _title_like(h: Heading) -> bool:
    """A heading that can name a part: no sentence punctuation; a level-2 one also short (≤ 30 字)."""
    body = re.sub(r"\s", "", h.text)
    if re.search(r"[。；;！？]", body):
        return False
    return h.level == 1 or len(body) <= 30


def _top_level(headings: list[Heading], aspect_words: list[str]) -> tuple[list[Heading], list[tuple[str, Heading]]]:
    """Choose the headings that delimit main parts: level-1 headings, else classified level-2 ones."""
    marked: list[tuple[str, Heading]] = []
    for h in headings:
        if h.level > 2 or not _is_short_heading(h) or not _title_like(h):
            continue
        kind = _classify(h.text)
        if kind is None and h.level == 1 and any(w in h.text for w in aspect_words):
            kind = "problems"
        if kind:
            marked.append((kind, h))
    level1 = [(k, h) for k, h in marked if h.level == 1]
    chosen = level1 if level1 else marked
    return [h for _, h in chosen], chosen


def _split_items(norm: str, s: int, e: int, part: str, aspect: str | None) -> list[Item]:
    """Split a block into inline items (一是…二是…) or return it whole."""
    block = norm[s:e]
    marks = [m for m in INLINE_ITEM.finditer(block)]
    if len(marks) < 1:
        a, b = _trim(norm, s, e)
        return [Item(norm[a:b], a, b, part, aspect)] if b - a >= 6 else []
    items: list[Item] = []
    lead_a, lead_b = _trim(norm, s, s + marks[0].start())
    lead = norm[lead_a:lead_b]
    for i, m in enumerate(marks):
        a = s + m.start(1)
        b = s + (marks[i + 1].start(1) if i + 1 < len(marks) else len(block))
        a, b = _trim(norm, a, b)
        items.append(Item(norm[a:b], a, b, part, aspect or (lead if lead else None), marker=m.group(1)))
    return items


def _part_items(norm: str, part: Part, headings: list[Heading]) -> None:
    starts = [h.start for h in headings]  # headings are in text order
    window = headings[bisect_left(starts, part.start):bisect_left(starts, part.end)]
    inner = [h for h in window if h is not part.heading]
    aspect: str | None = None
    cursor = part.heading.end if part.heading else part.start
    blocks: list[tuple[int, int, str | None, str]] = []
    for i, h in enumerate(inner):
        nxt = inner[i + 1] if i + 1 < len(inner) else None
        if cursor < h.start:
            blocks.append((cursor, h.start, aspect, ""))
        if _is_aspect(norm, h, nxt, part.end):
            part.aspects.append(h)
            aspect = h.text
            cursor = h.end
        else:
            cursor = nxt.start if nxt else part.end
            blocks.append((h.start, cursor, aspect, h.number))
    if cursor < part.end:
        blocks.append((cursor, part.end, aspect, ""))
    seen: set[tuple[int, int]] = set()
    for a, b, asp, num in blocks:
        if (a, b) in seen:
            continue
        seen.add((a, b))
        for para_s, para_e in _paragraphs_in(norm, a, b):
            for it in _split_items(norm, para_s, para_e, part.kind, asp):
                it.marker = it.marker or num
                part.items.append(it)


def _is_aspect(norm: str, h: Heading, nxt: Heading | None, part_end: int) -> bool:
    """A level-1/2 short heading groups items, unless it is a sentence with no body (then it is an item).

    “（二）宗旨意识有所淡化，群众观点树得不牢。” followed directly by “（三）…” is a cause, not a group heading.
    """
    if h.level > 2 or not _is_short_heading(h):
        return False
    if not re.search(r"[。；;！？]$", h.text.rstrip()):
        return True
    body_end = nxt.start if nxt else part_end
    has_body = bool(norm[h.end:body_end].strip())
    return has_body or (nxt is not None and nxt.level > h.level)


def _split_extras(part: Part) -> list[Part]:
    """Split 上年度整改 / 案例剖析 blocks written inside 问题 into parts of their own.

    They are recognised by an aspect heading that names them or a paragraph that opens with their words, so
    that item rules and proportions do not count them as problems.
    """
    if part.kind != "problems" or not part.items:
        return [part]
    kinds = [_extra_kind(it) for it in part.items]
    if not any(kinds):
        return [part]
    out: list[Part] = [Part("problems", part.start, part.end, heading=part.heading)]
    for i, (it, kind) in enumerate(zip(part.items, kinds, strict=True)):
        kind = kind or "problems"
        if out[-1].kind != kind or (i == 0 and kind != "problems"):
            start = _group_start(part, it)
            out[-1].end = start
            out.append(Part(kind, start, part.end))
        it.part = kind
        out[-1].items.append(it)
    for h in part.aspects:
        next(p for p in reversed(out) if p.start <= h.start).aspects.append(h)
    return out


def _extra_kind(it: Item) -> str | None:
    if it.aspect:
        kind = _classify(it.aspect)
        if kind in EXTRA_LEAD:
            return kind
    head = it.text[:40]
    return next((k for k, pat in EXTRA_LEAD.items() if pat.search(head)), None)


def _group_start(part: Part, it: Item) -> int:
    """Where a group starting with item ``it`` begins: at its aspect heading when it has one."""
    heads = [h for h in part.aspects if h.end <= it.start and h.text == it.aspect]
    return heads[-1].start if heads else it.start


def _paragraphs_in(norm: str, s: int, e: int) -> list[tuple[int, int]]:
    out = []
    for a, b in _lines(norm[s:e]):
        a, b = _trim(norm, s + a, s + b)
        if b > a:
            out.append((a, b))
    return out


def parse(text: str, aspect_words: list[str] | None = None) -> ParsedDraft:
    """Parse a draft. ``aspect_words`` (from the year's frame) help recognise aspect-first layouts."""
    norm, index = normalise(text)
    lines = _lines(norm)
    headings = _find_headings(norm, lines)
    tops, chosen = _top_level(headings, aspect_words or [])
    kinds = {id(h): k for k, h in chosen}
    parts: list[Part] = []
    first = tops[0].start if tops else len(norm)
    if first > 0:
        parts.extend(_opening_parts(norm, 0, first))
    for i, h in enumerate(tops):
        end = tops[i + 1].start if i + 1 < len(tops) else len(norm)
        part = Part(kind=kinds[id(h)], start=h.start, end=end, heading=h)
        _part_items(norm, part, headings)
        parts.extend(_split_extras(part))
    if not tops and norm.strip():
        parts = _headless_parts(norm)
    paragraphs = [p for a, b in lines if (p := _trim(norm, a, b))[1] > p[0]]
    return ParsedDraft(text, norm, index, headings, parts, paragraphs)


def _opening_parts(norm: str, s: int, e: int) -> list[Part]:
    paras = _paragraphs_in(norm, s, e)
    out: list[Part] = []
    if paras and len(paras) > 1 and paras[0][1] - paras[0][0] <= 60 and not re.search("[。！？]", norm[paras[0][0]:paras[0][1]]):
        out.append(Part("title", paras[0][0], paras[0][1]))
        paras = paras[1:]
    if paras:
        part = Part("opening", paras[0][0], e)
        out.append(part)
    return out


def _headless_parts(norm: str) -> list[Part]:
    """A fragment without main headings: guess its kind from its content (items of problems or measures)."""
    measure_like = len(re.findall(r"(?:前完成|牵头|责任人|年底前|月底前|建立|制定)", norm))
    problem_like = len(re.findall(r"(?:不够|不足|不强|不到位|不深|欠缺|缺乏|差距|问题)", norm))
    kind = "measures" if measure_like > problem_like else "problems"
    part = Part(kind, 0, len(norm))
    _part_items(norm, part, [h for h in _find_headings(norm, _lines(norm))])
    return [part]
