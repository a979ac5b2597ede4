"""The fixed set of rule types. Each takes a rule (data) and the context, and returns findings.

Types: lexicon, pattern, item_requirement, part_requirement, structure, metric, validity, formulation,
similarity, linkage, quote_source, grounding, judge.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from rag import genre
from rag.critic import grounding, predicates
from rag.critic.lexicon import Lexicon, _term, lexicon_of, raw_entries
from rag.critic.model import Finding, Rule
from rag.critic.parse import MAIN_PARTS, Item, ParsedDraft, Part
from rag.critic.similarity import Match, ShingleIndex, clean
from rag.frames import Frame, load_frames


@dataclass
class Context:
    """Everything a rule may look at besides its own data."""

    doc: ParsedDraft
    meeting_type: str | None = None
    year: int | None = None
    frame: Frame | None = None
    generated: bool = False
    corpus: ShingleIndex | None = None
    batch: ShingleIndex | None = None
    batch_key: str = ""
    known_text: str | None = None
    quote_sources: Callable[[str], bool] | None = None
    judge: Callable[[Rule, str], list[tuple[int, int, str]]] | None = None
    extras: dict = field(default_factory=dict)


def make(rule: Rule, ctx: Context, start: int, end: int, detail: str = "", quote_max: int = 0) -> Finding:
    """A finding for the normalised span [start, end), mapped to the original text."""
    doc = ctx.doc
    part = doc.part_at(start) if doc.norm else "document"
    if rule.scope == ["document"] and rule.type in ("structure", "metric"):
        part = "document" if detail != "part" else part
    s, e = doc.to_original(start, end)
    quote = doc.text[s:e]
    if quote_max and len(quote) > quote_max:
        quote = quote[:quote_max] + "…"
    return Finding(
        rule=rule.id, level=rule.level, part=part, start=s, end=e, quote=quote, message=rule.message,
        suggestion=rule.suggestion, basis=rule.basis, detail=detail,
    )


def scope_parts(rule: Rule, doc: ParsedDraft) -> list[Part]:
    """Parts a rule looks at; ``document`` means every part."""
    if "document" in rule.scope:
        return list(doc.parts)
    return doc.parts_of(*rule.scope)


def _items(rule: Rule, doc: ParsedDraft) -> list[Item]:
    min_chars = int(rule.params.get("min_chars", 8))
    out = []
    for part in scope_parts(rule, doc):
        for it in part.items:
            body = it.text.strip()
            if len(body) < min_chars or body.endswith(("：", ":")):
                continue
            out.append(it)
    return out


def _unless(rule: Rule, doc: ParsedDraft, start: int, end: int) -> bool:
    """True when one of the rule's ``unless`` predicates holds for the hit's sentence or item."""
    for cond in rule.params.get("unless", []):
        where, _, name = cond.rpartition(":")
        if where == "item":
            it = doc.item_at(start)
            text = it.text if it else doc.norm[slice(*doc.sentence_at(start, end))]
        else:
            a, b = doc.sentence_at(start, end)
            text = doc.norm[a:start] + doc.norm[end:b]
        if predicates.check(name, text):
            return True
    return False


# --------------------------------------------------------------------------- lexicon / pattern

def _lexicon(rule: Rule) -> Lexicon:
    return lexicon_of(rule.params.get("lexicon", rule.id), rule.params.get("terms"))


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _regex_hits(rule: Rule, text: str) -> Iterator[tuple[int, int, str]]:
    excl = [_compiled(p) for p in rule.params.get("exclude", [])]
    for pat in rule.params.get("patterns", []):
        for m in _compiled(pat).finditer(text):
            a, b = m.span(m.lastindex or 0) if rule.params.get("group") else m.span()
            if a == b:
                continue
            window = text[max(0, a - 8): b + 8]
            if any(x.search(window) for x in excl):
                continue
            yield a, b, ""


def _hits_in(rule: Rule, text: str) -> list[tuple[int, int, str]]:
    """Regex hits for ``pattern`` rules; lexicon hits (plus any ``patterns``, for phrases with a gap) otherwise."""
    if rule.type == "pattern":
        return list(_regex_hits(rule, text))
    hits = [(h.start, h.end, h.term.replacement) for h in _lexicon(rule).find(text)]
    if rule.params.get("patterns"):
        hits = _merge_hits(hits, list(_regex_hits(rule, text)))
    return hits


def _merge_hits(a: list[tuple[int, int, str]], b: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Both hit lists in text order; an overlapping hit keeps the earlier, then longer, one."""
    kept: list[tuple[int, int, str]] = []
    for h in sorted(a + b, key=lambda h: (h[0], -(h[1] - h[0]))):
        if kept and h[0] < kept[-1][1]:
            continue
        kept.append(h)
    return kept


def _units(rule: Rule, doc: ParsedDraft) -> list[tuple[int, int]]:
    per = rule.params.get("per", "hit")
    parts = scope_parts(rule, doc)
    if per == "item":
        return [(it.start, it.end) for it in _items(rule, doc)]
    if per == "paragraph":
        return [(a, b) for a, b in doc.paragraphs if any(p.start <= a < p.end for p in parts)]
    if per == "part":
        return [(p.start, p.end) for p in parts]
    return [(p.start, p.end) for p in parts]


def check_lexicon(rule: Rule, ctx: Context) -> list[Finding]:
    """Lexicon or regex hits inside the scope; ``per`` item/paragraph/part with ``min_hits`` for density."""
    doc, out = ctx.doc, []
    per, min_hits = rule.params.get("per", "hit"), int(rule.params.get("min_hits", 1))
    for a, b in _units(rule, doc):
        hits = [(a + s, a + e, r) for s, e, r in _hits_in(rule, doc.norm[a:b])]
        hits = [h for h in hits if not _unless(rule, doc, h[0], h[1])]
        if per == "hit":
            out += [make(rule, ctx, s, e, f"建议改为“{r}”" if r else "") for s, e, r in hits]
        elif len(hits) >= min_hits and not _linked_ok(rule, ctx, a, b):
            terms = "、".join(dict.fromkeys(doc.norm[s:e] for s, e, _ in hits))
            out.append(make(rule, ctx, hits[0][0], hits[0][1], f"共 {len(hits)} 处：{terms}"))
    return out


def _linked_ok(rule: Rule, ctx: Context, a: int, b: int) -> bool:
    """For ``require_unlinked``: the unit mentions this draft's own problems, so it is not boilerplate."""
    if not rule.params.get("require_unlinked"):
        return False
    problems = ctx.doc.part_text("problems")
    if not problems:
        return False
    stock = _lexicon(rule)
    unit = ctx.doc.norm[a:b]
    for h in reversed(stock.find(unit)):
        unit = unit[:h.start] + unit[h.end:]
    return _shared_grams(unit, problems) >= int(rule.params.get("min_shared", 4))


_NON_CJK = re.compile(r"[^\u4e00-\u9fff]")


def cjk_grams(text: str, k: int = 4) -> set[str]:
    """Distinct CJK k-grams of a text (digits and punctuation ignored)."""
    c = _NON_CJK.sub("", text)
    return {c[i:i + k] for i in range(len(c) - k + 1)}


def _shared_grams(a: str, b: str | set[str], k: int = 4) -> int:
    """Distinct CJK k-grams two texts share; ``b`` may be a precomputed gram set."""
    gb = b if isinstance(b, set) else cjk_grams(b, k)
    return len(cjk_grams(a, k) & gb)


# --------------------------------------------------------------------------- requirements

def check_item_requirement(rule: Rule, ctx: Context) -> list[Finding]:
    """Every item in scope must satisfy the ``require`` predicate (e.g. anchor, deadline, owner)."""
    need = rule.params["require"]
    out = []
    for it in _items(rule, ctx.doc):
        if not predicates.check(need, it.text):
            end = min(it.end, it.start + int(rule.params.get("quote_chars", 30)))
            out.append(make(rule, ctx, it.start, end, it.text[:60]))
    return out


def check_part_requirement(rule: Rule, ctx: Context) -> list[Finding]:
    """A part in scope, when present, must contain a term of the ``lexicon`` (or a ``patterns`` match)."""
    parts = scope_parts(rule, ctx.doc)
    if not parts:
        return []
    text = "\n".join(ctx.doc.norm[p.start:p.end] for p in parts)
    body_len = len(clean(text))
    if body_len < int(rule.params.get("min_chars", 30)):
        return []
    ok = bool(_lexicon(rule).find(text)) if "lexicon" in rule.params or "terms" in rule.params else False
    ok = ok or any(re.search(p, text) for p in rule.params.get("patterns", []))
    if ok:
        return []
    head = parts[0].heading
    a, b = (head.start, head.end) if head else (parts[0].start, min(parts[0].end, parts[0].start + 20))
    return [make(rule, ctx, a, b)]


# --------------------------------------------------------------------------- structure

def _first_line(doc: ParsedDraft) -> tuple[int, int]:
    return doc.paragraphs[0] if doc.paragraphs else (0, 0)


def _has_main_headings(doc: ParsedDraft) -> bool:
    return sum(1 for p in doc.parts if p.kind in MAIN_PARTS and p.heading) >= 1


def _complete_enough(doc: ParsedDraft, rule: Rule) -> bool:
    return _has_main_headings(doc) and doc.clean_len() >= int(rule.params.get("min_chars", 400))


def structure_sections(rule: Rule, ctx: Context) -> list[Finding]:
    doc = ctx.doc
    if not _complete_enough(doc, rule):
        return []
    present = {p.kind for p in doc.parts}
    names = {"problems": "存在的问题", "causes": "原因分析", "measures": "整改措施"}
    a, b = _first_line(doc)
    return [make(rule, ctx, a, b, f"缺少“{names[k]}”部分") for k in MAIN_PARTS if k not in present]


def structure_order(rule: Rule, ctx: Context) -> list[Finding]:
    doc = ctx.doc
    seq = [p for p in doc.parts if p.kind in MAIN_PARTS]
    for prev, cur in zip(seq, seq[1:], strict=False):
        if MAIN_PARTS.index(cur.kind) < MAIN_PARTS.index(prev.kind):
            h = cur.heading
            return [make(rule, ctx, h.start if h else cur.start, h.end if h else cur.start + 10,
                         "问题、原因、措施的顺序颠倒")]
    return []


SECTION_WORDS = {
    "上年度整改": ("上年度", "上一年度", "上次民主生活会", "上次组织生活会", "去年民主生活会", "整改落实情况"),
    "反面典型案例剖析": ("反面典型", "典型案例", "案例剖析", "以案促改", "以案为鉴"),
}


SECTION_KINDS = {"上年度整改": "rectification", "反面典型案例剖析": "case"}  # part kinds the parser gives them


def structure_required_extra(rule: Rule, ctx: Context) -> list[Finding]:
    doc, frame = ctx.doc, ctx.frame
    if frame is None or not _complete_enough(doc, rule):
        return []
    heads = [h.text for h in doc.headings] + [doc.norm[a:min(b, a + 40)] for a, b in doc.paragraphs]
    kinds = {p.kind for p in doc.parts}
    out = []
    for sec in frame.required_sections:
        words = SECTION_WORDS.get(sec, (sec,))
        if SECTION_KINDS.get(sec) in kinds:
            continue
        if not any(any(w in h for w in words) for h in heads):
            a, b = _first_line(doc)
            out.append(make(rule, ctx, a, b, f"缺少“{sec}”部分"))
    return out


def structure_aspects(rule: Rule, ctx: Context) -> list[Finding]:
    """Aspect headings that belong to another year's frame and not to this one."""
    doc, frame = ctx.doc, ctx.frame
    if frame is None:
        return []
    others = [f for f in load_frames() if f.id != frame.id]
    for part in doc.parts_of("problems"):
        cands = list(part.aspects) + ([part.heading] if part.heading else [])
        for h in cands:
            if frame.aspect_of(h.text):
                continue
            other = next((f for f in others if f.aspect_of(h.text) and not _shared_aspect(frame, f, h.text)), None)
            if other:
                return [make(rule, ctx, h.start, h.end, f"该标题属于“{other.name}”，本年度应使用“{frame.name}”的方面")]
    return []


def _shared_aspect(frame: Frame, other: Frame, text: str) -> bool:
    asp = other.aspect_of(text)
    return bool(asp and any(k in " ".join(a.name for a in frame.aspects) for k in asp.keywords))


def structure_heading_sequence(rule: Rule, ctx: Context) -> list[Finding]:
    """Numbered headings must count up by one within their parent (一、二、三、; （一）（二）…)."""
    last: dict[int, int] = {}
    out = []
    for h in ctx.doc.headings:
        n = _num(h.number)
        if n is None:
            continue
        for lvl in list(last):
            if lvl > h.level:
                del last[lvl]
        prev = last.get(h.level)
        if prev is not None and n != prev + 1 and not (n == 1 and h.level >= 3):
            end = min(h.end, h.start + 12)
            out.append(make(rule, ctx, h.start, end, f"序号从{prev}跳到{n}"))
        last[h.level] = n
    return out


def _num(s: str) -> int | None:
    if s.isdigit():
        return int(s)
    vals = {c: i for i, c in enumerate("一二三四五六七八九", start=1)}
    if s == "十":
        return 10
    if len(s) == 1 and s in vals:
        return vals[s]
    if len(s) == 2 and s[0] == "十" and s[1] in vals:
        return 10 + vals[s[1]]
    return None


def structure_first_person(rule: Rule, ctx: Context) -> list[Finding]:
    doc = ctx.doc
    if doc.clean_len() < int(rule.params.get("min_chars", 200)):
        return []
    if re.search(r"我|本人|自己|自身", doc.norm):
        return []
    a, b = _first_line(doc)
    return [make(rule, ctx, a, b)]


def structure_theme(rule: Rule, ctx: Context) -> list[Finding]:
    """The opening names another year's theme (even when this year's keywords stand next to it)."""
    doc, frame = ctx.doc, ctx.frame
    if frame is None:
        return []
    opening = doc.parts_of("opening", "title")
    if not opening:
        return []
    text = "\n".join(doc.norm[p.start:p.end] for p in opening)
    hits = sorted(_foreign_themes(text, frame, ctx.year))
    if not hits:
        return []
    i, kw, name = hits[0]
    a = _offset_in(doc, opening, i)
    return [make(rule, ctx, a, a + len(kw), f"“{kw}”是“{name}”的主题")]


_PAST_BEFORE = re.compile(r"(?:上年度|上一年度|去年|上次|往年|\d{4}年度?)[^。；！？]{0,20}$")


def _foreign_themes(text: str, frame: Frame, year: int | None) -> list[tuple[int, str, str]]:
    """(offset, keyword, frame name) of theme keywords that belong only to frames of other years.

    Keywords valid for this year (any frame of the year, or words of this frame's own theme) are allowed; dated formulations (plenums, 党史学习教育)
    are left to the ``outdated`` rule; a phrase about the past (…成果, 上年度…) is not a theme statement.
    """
    years = {year} if year is not None else set(frame.years)
    valid = {k for f in load_frames() if f.id == frame.id or years & set(f.years) for k in f.theme_keywords}
    own_text = frame.theme + " ".join(a.name for a in frame.aspects)
    dated = _dated_terms()
    out, taken = [], set()
    for f in load_frames():
        if f.id == frame.id or years & set(f.years):
            continue
        for kw in sorted(set(f.theme_keywords) - valid, key=len, reverse=True):
            if len(kw) < 3 or kw in own_text or any(d in kw or kw in d for d in dated):
                continue
            for m in re.finditer(re.escape(kw), text):
                span = set(range(m.start(), m.end()))
                if span & taken or _past_context(text, m.start(), m.end()):
                    continue
                taken |= span
                out.append((m.start(), kw, f.name))
    return out


def _past_context(text: str, start: int, end: int) -> bool:
    after = text[end:end + 6]
    return any(w in after for w in ("成果", "以来", "期间")) or bool(_PAST_BEFORE.search(text[max(0, start - 24):start]))


@lru_cache(maxsize=4)
def _dated_terms(name: str = "outdated") -> tuple[str, ...]:
    """Terms of the validity lexicon: formulations whose dating belongs to ``outdated.formulation``."""
    return tuple(str(e.get("term")) for e in raw_entries(name) if e.get("term"))


def _offset_in(doc: ParsedDraft, parts: list[Part], i: int) -> int:
    for p in parts:
        n = p.end - p.start
        if i <= n:
            return p.start + i
        i -= n + 1
    return parts[-1].end


def structure_special_meeting(rule: Rule, ctx: Context) -> list[Finding]:
    """An annual meeting (the year's frame is not a 专题 one) named 专题民主生活会 / 专题组织生活会."""
    frame = ctx.frame
    if frame is None or frame.special or "专题" in frame.name:
        return []
    out = []
    for start, end in _head_spans(ctx.doc):
        body = ctx.doc.norm[start:end]
        out += [make(rule, ctx, start + a, start + b) for a, b in genre.find("special_meeting", body)]
    return out


def _head_spans(doc: ParsedDraft) -> list[tuple[int, int]]:
    """The title and opening (or, in a text without them, its first two paragraphs)."""
    spans = [(p.start, p.end) for p in doc.parts_of("title", "opening")]
    return spans or list(doc.paragraphs[:2])


def structure_theme_quote(rule: Rule, ctx: Context) -> list[Finding]:
    """A quoted phrase in the opening that is close to the year's theme but not the same words."""
    frame = ctx.frame
    if frame is None or not frame.theme:
        return []
    theme = re.sub(r"[，、。“”\s]", "", frame.theme)
    out = []
    for start, end in _head_spans(ctx.doc):
        body = ctx.doc.norm[start:end]
        for m in re.finditer(r"“([^”]{4,60})”", body):
            quoted = re.sub(r"[，、。\s]", "", m.group(1))
            if quoted in theme or len(quoted) < 6:
                continue
            if _shared_grams(quoted, theme, 2) >= max(2, int(0.5 * (len(quoted) - 1))):
                out.append(make(rule, ctx, start + m.start(1), start + m.end(1), f"本年度主题是“{frame.theme}”"))
    return out


STRUCTURE_CHECKS = {
    "special_meeting": structure_special_meeting,
    "theme_quote": structure_theme_quote,
    "sections": structure_sections,
    "order": structure_order,
    "required_extra": structure_required_extra,
    "aspects": structure_aspects,
    "heading_sequence": structure_heading_sequence,
    "first_person": structure_first_person,
    "theme": structure_theme,
}


def check_structure(rule: Rule, ctx: Context) -> list[Finding]:
    return STRUCTURE_CHECKS[rule.params["check"]](rule, ctx)


# --------------------------------------------------------------------------- metric

# Left out of the denominator: the title, and the sections a year's notice adds (they are neither problems nor
# padding; counting them would punish drafts that include them).
NOT_IN_BODY = ("title", "rectification", "case")


def check_metric(rule: Rule, ctx: Context) -> list[Finding]:
    """Proportions: share of 问题+原因 in the body, or minimum characters of a part."""
    doc = ctx.doc
    present = {p.kind for p in doc.parts}
    if not all(k in present for k in MAIN_PARTS) or not _complete_enough(doc, rule):
        return []
    body = sum(doc.clean_len(p.start, p.end) for p in doc.parts if p.kind not in NOT_IN_BODY) or 1
    metric = rule.params["metric"]
    if metric == "problems_causes_share":
        share = sum(doc.clean_len(p.start, p.end) for p in doc.parts_of("problems", "causes")) / body
        if share < float(rule.params.get("min", 0.5)):
            a, b = _first_line(doc)
            return [make(rule, ctx, a, b, f"问题和原因约占全文 {share:.0%}")]
    elif metric == "problems_min_chars":
        n = sum(doc.clean_len(p.start, p.end) for p in doc.parts_of("problems"))
        if n < int(rule.params.get("min", 500)):
            a, b = _first_line(doc)
            return [make(rule, ctx, a, b, f"问题部分约 {n} 字")]
    return []


# --------------------------------------------------------------------------- validity / formulation

def check_validity(rule: Rule, ctx: Context) -> list[Finding]:
    """Formulations valid only in a window of 年度 years (``outdated`` lexicon entries)."""
    if ctx.year is None:
        return []
    text, out = ctx.doc.norm, []
    for e, lex in _validity_entries(rule.params.get("lexicon", "outdated")):
        lo, hi = e.get("valid_from"), e.get("valid_to")
        if not ((hi is not None and ctx.year > int(hi)) or (lo is not None and ctx.year < int(lo))):
            continue
        for h in lex.find(text):
            if _validity_context_ok(e, text, h.start, h.end):
                msg = e.get("message") or ""
                rep = e.get("replacement")
                out.append(make(rule, ctx, h.start, h.end, msg + (f"（可改为：{rep}）" if rep else "")))
    return out


@lru_cache(maxsize=16)
def _validity_entries(name: str) -> tuple[tuple[dict, Lexicon], ...]:
    """Each entry of a validity lexicon with its compiled one-term automaton."""
    return tuple((e, Lexicon(name, [_term(e)])) for e in raw_entries(name))


def _validity_context_ok(entry: dict, text: str, start: int, end: int) -> bool:
    ctx_words = entry.get("context") or []
    after = text[end:end + 6]
    before = text[max(0, start - 12):start]
    if any(w in after for w in ("成果", "以来", "期间", "时期")) and not ctx_words:
        return False
    if re.search(r"巩固|拓展|深化.{0,6}$", before) and "成果" in text[end:end + 8]:
        return False
    return not ctx_words or any(w in before for w in ctx_words)


def _edit_distance(a: str, b: str, cap: int = 3) -> int:
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
        if min(cur) > cap:
            return cap + 1
        prev = cur
    return prev[-1]


def check_formulation(rule: Rule, ctx: Context) -> list[Finding]:
    """Known wrong variants of fixed formulations, plus near-misses (edit distance 1–2) of long ones."""
    text, out, seen = ctx.doc.norm, [], set()
    corrects, wrong = _formulation_data(rule.params.get("lexicon", "formulation"))
    for h in wrong.find(text):
        if _inside_correct(text, h.start, h.end, corrects):
            continue
        seen.update(range(h.start, h.end))
        out.append(make(rule, ctx, h.start, h.end, f"应为“{h.term.replacement}”"))
    for correct in corrects:
        out += _near_misses(rule, ctx, text, correct, corrects, seen)
    return out


@lru_cache(maxsize=16)
def _formulation_data(name: str) -> tuple[list[str], Lexicon]:
    """The correct forms of a formulation lexicon and an automaton of their known wrong variants."""
    entries = raw_entries(name)
    terms = [{"term": w, "replacement": e["correct"]} for e in entries for w in e.get("wrong", [])]
    return [e["correct"] for e in entries], Lexicon("formulation_wrong", [_term(t) for t in terms])


def _inside_correct(text: str, start: int, end: int, corrects: list[str]) -> bool:
    for c in corrects:
        i = text.find(c, max(0, start - len(c)), end + len(c))
        while i != -1:
            if i <= start and i + len(c) >= end:
                return True
            i = text.find(c, i + 1, end + len(c))
    return False


def _near_misses(rule, ctx, text, correct, corrects, seen) -> list[Finding]:
    if len(correct) < 8:
        return []
    out, head, tail = [], correct[:3], correct[-2:]
    for m in re.finditer(re.escape(head), text):
        s = m.start()
        if s in seen:
            continue
        for n in (len(correct) - 1, len(correct) + 1, len(correct)):
            cand = text[s:s + n]
            if cand in corrects or any(cand in c or c in cand for c in corrects):
                continue
            if not cand.endswith(tail) and n != len(correct):
                continue
            d = _edit_distance(cand, correct, 2)
            if 0 < d <= (1 if len(correct) < 12 else 2) and cand[-1] == correct[-1]:
                seen.update(range(s, s + n))
                out.append(make(rule, ctx, s, s + n, f"应为“{correct}”"))
                break
    return out


# --------------------------------------------------------------------------- similarity and links

def check_similarity(rule: Rule, ctx: Context) -> list[Finding]:
    """Paragraphs whose shingles are mostly contained in a knowledge-base chunk or another batch draft."""
    index = ctx.batch if rule.params.get("against") == "batch" else ctx.corpus
    if index is None or not len(index):
        return []
    kinds = set(rule.params.get("kinds", []))
    thr = float(rule.params.get("threshold", 0.6))
    out = []
    for a, b in ctx.doc.paragraphs:
        if b - a < int(rule.params.get("min_chars", 40)):
            continue
        m = _best_match(ctx, index, a, b)
        if m is None or m.score < thr or (kinds and m.meta.get("kind") not in kinds):
            continue
        src = m.meta.get("title") or m.meta.get("source") or m.key
        out.append(make(rule, ctx, a, min(b, a + 40), f"与《{src}》相似度 {m.score:.0%}", quote_max=40))
    return out


def _best_match(ctx: Context, index: ShingleIndex, a: int, b: int) -> Match | None:
    """``index.best`` for a paragraph, computed once per draft and shared by every similarity rule."""
    cache = ctx.extras.setdefault("similarity", {})
    key = (id(index), a, b)
    if key not in cache:  # first lookup in this index: every paragraph at once (one numpy pass)
        exclude = _own_keys(ctx, index) if ctx.batch_key else None
        spans = list(ctx.doc.paragraphs)
        found = index.best_many([ctx.doc.norm[x:y] for x, y in spans], exclude=exclude)
        cache.update({(id(index), x, y): m for (x, y), m in zip(spans, found, strict=True)})
        if key not in cache:
            cache[key] = index.best(ctx.doc.norm[a:b], exclude=exclude)
    return cache[key]


def _own_keys(ctx: Context, index: ShingleIndex) -> set[str]:
    """Keys of the draft's own paragraphs in a batch index (a draft is never its own duplicate)."""
    cache = ctx.extras.setdefault("own_keys", {})
    if id(index) not in cache:
        prefix = ctx.batch_key + "#"
        cache[id(index)] = {k for k in index._items if k.startswith(prefix)}
    return cache[id(index)]


def check_linkage(rule: Rule, ctx: Context) -> list[Finding]:
    """A problem aspect that no measure addresses (no shared content with any measure)."""
    doc = ctx.doc
    measures = doc.part_text("measures")
    if not measures or not doc.parts_of("problems"):
        return []
    out = []
    min_shared = int(rule.params.get("min_shared", 1))
    measure_grams = cjk_grams(measures, 3)
    for part in doc.parts_of("problems"):
        groups: dict[str, list[Item]] = {}
        for it in part.items:
            groups.setdefault(it.aspect or "", []).append(it)
        for items in groups.values():
            text = "".join(it.text for it in items)
            if len(clean(text)) < int(rule.params.get("min_chars", 20)):
                continue
            if max((_shared_grams(it.text, measure_grams, 3) for it in items), default=0) < min_shared:
                out.append(make(rule, ctx, items[0].start, min(items[0].end, items[0].start + 30)))
    return out


QUOTE = re.compile(r"(?:总书记|习近平)[^。“”]{0,16}(?:指出|强调|要求|说过|告诫|提出)[：:，,]?\s*[“\"]([^”\"]{8,})[”\"]")


def check_quote_source(rule: Rule, ctx: Context) -> list[Finding]:
    """Quoted leader's words must be found in the knowledge base."""
    if ctx.quote_sources is None:
        return []
    out = []
    for m in QUOTE.finditer(ctx.doc.norm):
        if not ctx.quote_sources(m.group(1)):
            out.append(make(rule, ctx, m.start(1), m.end(1)))
    return out


def check_grounding(rule: Rule, ctx: Context) -> list[Finding]:
    """Numbers, dates, people, bodies and quoted names in a generated draft must be in the facts or the
    cited sources (:mod:`rag.critic.grounding`). In ``statements`` scopes (措施) only sentences that state
    a fact are checked: deadlines, owners and targets are proposals."""
    if ctx.known_text is None:
        return []
    known = ctx.extras.get("known")
    if known is None:
        known = ctx.extras["known"] = grounding.Known.of(ctx.known_text)
    statements = set(rule.params.get("statements", []))
    out = []
    for part in ctx.doc.parts:
        if part.kind not in rule.scope and part.kind not in statements and "document" not in rule.scope:
            continue
        body_start = part.heading.end if part.heading else part.start
        seg = ctx.doc.norm[body_start:part.end]
        for claim in grounding.unsupported(seg, known, statements_only=part.kind in statements):
            if _heading_number(ctx.doc.norm, body_start + claim.start):
                continue
            out.append(make(rule, ctx, body_start + claim.start, body_start + claim.end,
                            f"“{claim.text}”在事实材料中找不到"))
    return out


def _heading_number(text: str, i: int) -> bool:
    line_start = text.rfind("\n", 0, i) + 1
    return i - line_start <= 1 and bool(re.match(r"[\d（(一二三四五六七八九十]", text[line_start:line_start + 2]))


def check_judge(rule: Rule, ctx: Context) -> list[Finding]:
    """Model-judged rule: only when a capable model is configured and the judge is enabled."""
    if ctx.judge is None:
        return []
    return [make(rule, ctx, a, b, reason) for a, b, reason in ctx.judge(rule, ctx.doc.norm)]


# --------------------------------------------------------------------------- genre vocabulary (shared with the drafter)

def dingxing_bent(item: str) -> bool:
    """The problem's 定性 bends its own instance (:func:`rag.draft.bank.item_bend`)."""
    from rag.draft.bank import item_bend  # shared genre data, loaded on first use

    return item_bend(item) is not None


ITEM_TESTS: dict[str, Callable[[str], bool]] = {
    "cause_listing": genre.cause_listing,
    "tautology": genre.tautology,
    "groundless_verdict": genre.groundless_verdict,
    "dingxing_bent": dingxing_bent,
}


def check_genre(rule: Rule, ctx: Context) -> list[Finding]:
    """Hits of a genre predicate (``knowledge_base/genre/vocabulary.yaml``, or one of :data:`ITEM_TESTS`
    for whole items) inside the rule's scope. ``per: item`` reports each offending item once."""
    name = rule.params["predicate"]
    out: list[Finding] = []
    if name == "unpaired_quotes":
        for part in scope_parts(rule, ctx.doc):
            body = ctx.doc.norm[part.start:part.end]
            out += [make(rule, ctx, part.start + a, part.start + b) for a, b in genre.unpaired_quotes(body)]
        return out
    for it in _items(rule, ctx.doc) if rule.params.get("per") == "item" or name in ITEM_TESTS else []:
        body = genre.ITEM_PREFIX.sub("", it.text)
        if (ITEM_TESTS[name](body) if name in ITEM_TESTS else genre.matches(name, body)) \
                and not _unless(rule, ctx.doc, it.start, it.end):
            out.append(make(rule, ctx, it.start, min(it.end, it.start + int(rule.params.get("quote_chars", 20)))))
    if out or rule.params.get("per") == "item" or name in ITEM_TESTS:
        return out
    for part in scope_parts(rule, ctx.doc):
        body = ctx.doc.norm[part.start:part.end]
        for a, b in genre.find(name, body):
            if not _unless(rule, ctx.doc, part.start + a, part.start + b):
                out.append(make(rule, ctx, part.start + a, part.start + b))
    return out


def check_repetition(rule: Rule, ctx: Context) -> list[Finding]:
    """``across``: a clause found in ``times`` or more items of the scope (reported once, where it first
    stands); otherwise a clause repeated inside one item (reported where it repeats)."""
    out: list[Finding] = []
    items = _items(rule, ctx.doc)
    if rule.params.get("across"):
        texts = [it.text for it in items]
        for clause in genre.repeated_across(texts, int(rule.params.get("times", 3)), int(rule.params.get("min_han", 6))):
            first = next(it for it in items if clause in it.text)
            a = first.start + first.text.index(clause)
            out.append(make(rule, ctx, a, a + len(clause), f"这句话出现在 {sum(clause in t for t in texts)} 条措施里"))
        return out
    for it in items:
        for a, b in genre.repeated_within(it.text, int(rule.params.get("min_han", 4))):
            out.append(make(rule, ctx, it.start + a, it.start + b))
    return out


def check_pairing(rule: Rule, ctx: Context) -> list[Finding]:
    """A measure sharing no specific wording with the problem it is paired with. Pairs are made only
    when the pairing is plain: as many measures as problems, in the same order."""
    doc = ctx.doc
    problems = [it for p in doc.parts_of("problems") for it in p.items if len(clean(it.text)) >= 10]
    measures = [it for p in doc.parts_of("measures") for it in p.items if len(clean(it.text)) >= 10]
    if not problems or len(problems) != len(measures):
        return []
    need = int(rule.params.get("min_shared", 1))
    apart = [m for p, m in zip(problems, measures, strict=True)
             if _shared_grams(_specific(m.text), _specific(p.text), 2) < need]
    if len(apart) > len(measures) * float(rule.params.get("max_share", 0.4)):
        return []  # most pairs share nothing: the measures are not in the problems' order
    return [make(rule, ctx, m.start, min(m.end, m.start + 20)) for m in apart]


GENERIC = re.compile(r"问题|工作|加强|落实|整改|建立|制度|开展|推进|完善|提高|情况|方面|要求|责任|全面|深入|认真|切实|坚持|"
                     r"存在|没有|到位|完成|年度|班子|本人|支部|我们|及时|主动|规范|严格|牵头|负责|具体|月底|年底|党员|干部|"
                     r"学习|组织|进一步|台账|销号|清单|每月|每季度|不够|不足|不强")


def _specific(text: str) -> str:
    return GENERIC.sub("，", text)


CHECKS: dict[str, Callable[[Rule, Context], list[Finding]]] = {
    "genre": check_genre,
    "repetition": check_repetition,
    "pairing": check_pairing,
    "lexicon": check_lexicon,
    "pattern": check_lexicon,
    "item_requirement": check_item_requirement,
    "part_requirement": check_part_requirement,
    "structure": check_structure,
    "metric": check_metric,
    "validity": check_validity,
    "formulation": check_formulation,
    "similarity": check_similarity,
    "linkage": check_linkage,
    "quote_source": check_quote_source,
    "grounding": check_grounding,
    "judge": check_judge,
}
