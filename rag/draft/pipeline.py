"""Fact-grounded drafting: plan → problems → causes → measures → guard → critic → bounded revision.

The chat model and the knowledge base are arguments (one seam for models); the model fills short slots,
code renders the genre's prose and numbering. Nothing that the facts or the cited sources do not support
survives in 问题 or 原因: the guard turns it into a visible 【待核实】 marker and records the event.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from rag.critic.checks import TOKEN, token_known
from rag.critic.engine import critique
from rag.draft import prompting
from rag.draft.facts import Fact, UnitFacts
from rag.draft.injection import screen_slots
from rag.draft.render import PART_TITLES, to_markdown
from rag.draft.schemas import (
    CauseSlot,
    CauseSlots,
    Citation,
    Draft,
    DraftItem,
    DraftPart,
    GuardEvent,
    ItemRewrite,
    MeasureSlot,
    MeasureSlots,
    ProblemSlot,
    ProblemSlots,
)
from rag.errors import InputError, LLMError
from rag.frames import Aspect, Frame, get_frame, select_frame
from rag.llm import CallStats, ChatLlamaCpp, as_messages, llm_errors, structured_call, with_json_instruction

DIMENSIONS = ["理想信念", "宗旨意识", "党性修养", "政绩观", "纪律规矩意识", "担当精神"]
GAP = "【请补充：{what}】"
UNVERIFIED = "【待核实】"
SPECIAL = {"上年度整改": "rectification", "典型案例": "case"}
MAX_FACTS_PER_ASPECT = 4
Event = Callable[[str, Any], None]
T = TypeVar("T", bound=BaseModel)


@dataclass
class Run:
    """State of one drafting run: inputs, known text for the guard, counters and the event sink."""

    facts: UnitFacts
    frame: Frame
    model: BaseChatModel
    kb: Any = None
    on_event: Event | None = None
    known: str = ""
    stats: CallStats = field(default_factory=CallStats)
    started: float = field(default_factory=time.perf_counter)
    citations: list[Citation] = field(default_factory=list)
    guard_events: list[GuardEvent] = field(default_factory=list)
    first_text_at: float | None = None
    """When the first draft text was shown (the parts rendered from the facts come before any model call)."""
    extras: dict[str, ProblemSlot] = field(default_factory=dict)
    """Per problem id: the slot it was written from (its root cause and measure, when the model gave them)."""

    @property
    def small(self) -> bool:
        """The embedded small model: asked for fewer fields (each generated token costs ~0.13 s on 2 cores)."""
        return isinstance(self.model, ChatLlamaCpp)

    @property
    def calls(self) -> int:
        """Requests sent to the model (retries and re-asks included)."""
        return self.stats.requests

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens reported by the model."""
        return self.stats.tokens

    @property
    def first_token(self) -> float | None:
        """Seconds from the start of the run to the first streamed text piece."""
        at = self.stats.first_token_at
        return None if at is None else at - self.started

    def emit(self, kind: str, payload: Any) -> None:
        if self.on_event:
            self.on_event(kind, payload)


class DraftInterrupted(LLMError):
    """A model call failed mid-draft. ``partial`` is the draft so far: every item that was not
    written is a visible 【未生成：…】 gap marker, so the caller can save it and nothing is lost."""

    def __init__(self, cause: LLMError, partial: Draft, step: str) -> None:
        super().__init__(
            f"起草在“{step}”这一步中断：{cause.message}",
            f"已写好的部分已保留，没写完的条目标注了【未生成】；{cause.hint}",
        )
        self.cause, self.partial, self.step = cause, partial, step


# --------------------------------------------------------------------------- model calls

MAX_TOKENS = {"problems": 512, "causes": 512, "measures": 768, "revise": 400}


def call_slots(run: Run, step: str, schema: type[T], items: int | None = None,
               json_schema: dict[str, Any] | None = None, **variables: Any) -> T:
    """Render a prompt file and fill ``schema`` through the seam (tokens and retries go to the caller).

    ``items`` limits the slot list to 1..``items`` entries in the decoding schema (the prompt says the same);
    ``json_schema`` replaces the decoding schema altogether.
    """
    msgs = prompting.messages(step, meeting_type=run.facts.meeting_type, **variables)
    slots = structured_call(
        run.model, msgs, schema, max_tokens=MAX_TOKENS.get(step), stats=run.stats,
        on_token=(lambda piece: run.emit("token", piece)) if run.on_event else None,  # stream only for a listener
        on_retry=lambda note: run.emit("status", note), json_schema=json_schema or _item_limits(schema, items),
    )
    return screen_slots(slots, msgs, run.known)  # drop answers obeying instructions hidden in the material


def _item_limits(schema: type[BaseModel], items: int | None) -> dict[str, Any]:
    """``schema``'s JSON schema with its item list limited to 1..``items`` entries."""
    json_schema = schema.model_json_schema()
    if items is not None:
        for prop in json_schema.get("properties", {}).values():
            if prop.get("type") == "array":
                prop.update(minItems=1, maxItems=max(1, items))
    return json_schema


# --------------------------------------------------------------------------- planning

def _grams(text: str) -> set[str]:
    t = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def _aspect_score(fact: Fact, aspect: Aspect) -> float:
    if fact.aspect and (aspect.matches(fact.aspect) or fact.aspect in aspect.name):
        return 100.0
    words = " ".join([aspect.name, *aspect.keywords])
    return len(_grams(fact.category + fact.text) & _grams(words)) + (
        5.0 if any(k in fact.text for k in aspect.keywords) else 0.0
    )


def plan(facts: UnitFacts, frame: Frame) -> tuple[dict[str, list[Fact]], dict[str, list[Fact]]]:
    """Map facts to the frame's aspects (hint, then keyword overlap); special categories go aside."""
    by_aspect: dict[str, list[Fact]] = {a.name: [] for a in frame.aspects}
    special: dict[str, list[Fact]] = {"rectification": [], "case": []}
    for fact in facts.facts:
        if fact.category in SPECIAL:
            special[SPECIAL[fact.category]].append(fact)
            continue
        ranked = sorted(frame.aspects, key=lambda a: _aspect_score(fact, a), reverse=True)
        target = next((a for a in ranked if len(by_aspect[a.name]) < MAX_FACTS_PER_ASPECT), ranked[0])
        by_aspect[target.name].append(fact)
    return by_aspect, special


# --------------------------------------------------------------------------- retrieval

def requirements(run: Run, aspect: Aspect, k: int = 2) -> list[str]:
    """Policy passages for an aspect (kept as citations); empty without a knowledge base."""
    if run.kb is None:
        return []
    try:
        hits = run.kb.search(f"{aspect.name} {' '.join(aspect.keywords)}", k=k, kinds=["policy"])
    except Exception:  # noqa: BLE001 - retrieval is a help, not a requirement
        return []
    out = []
    for h in hits:
        snippet = re.sub(r"\s+", "", h.text)[:110]
        run.citations.append(Citation(source=h.source, title=getattr(h, "title", ""),
                                      location=getattr(h, "citation", ""), text=snippet))
        run.known += "\n" + h.text
        out.append(snippet)
    return out


# --------------------------------------------------------------------------- guard

def guard(run: Run, item: DraftItem) -> DraftItem:
    """Replace numbers, dates and names that neither the facts nor the sources contain with 【待核实】."""
    known = re.sub(r"\s", "", run.known)
    text = item.text

    def fix(m: re.Match) -> str:
        tok = re.sub(r"\s", "", m.group(0))
        if not tok or token_known(tok, known):
            return m.group(0)
        run.guard_events.append(GuardEvent(item_id=item.id, token=tok))
        return UNVERIFIED

    item.text = TOKEN.sub(fix, text)
    return item


# --------------------------------------------------------------------------- sections

def _facts_view(facts: list[Fact]) -> list[dict]:
    return [{"id": f.id, "text": f.text, "source": f.source} for f in facts]


def _clean_sentence(text: str) -> str:
    text = re.sub(r"^[一二三四五六七八九十]是|^\d+[.、]", "", text.strip())
    if "“" not in text:  # the small model likes ‘…’ where the genre uses “…”
        text = text.replace("‘", "“").replace("’", "”")
    text = text.rstrip("。；;，, ")
    while text.count("”") > text.count("“") and text.endswith("”"):  # a stray closing quote
        text = text[:-1].rstrip("。；;，, ")
    return text


PRAISE = re.compile(r"体现了|体现出|积极|取得|成效|高度重视|认真负责|充分发挥")


def _reflection(text: str, instance: str) -> str:
    """The reflection sentence, unless it praises or only repeats the instance."""
    text = _clean_sentence(text)
    if not text or PRAISE.search(text) or contained(text, instance) >= 0.8:
        return ""
    return text


def contained(a: str, b: str) -> float:
    """Share of ``a``'s Chinese character bigrams that also occur in ``b`` (0..1)."""
    ga = _grams(a)
    return len(ga & _grams(b)) / len(ga) if ga else 1.0


def similarity(a: str, b: str) -> float:
    """Overlap of the two texts' Chinese character bigrams (Jaccard, 0..1)."""
    ga, gb = _grams(a), _grams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0


def _problem_body(summary: str, facts: list[Fact], reflection: str) -> tuple[str, str]:
    """(一是 body, one-line summary): the model's summary, the cited facts in the user's words, the
    model's reflection. A summary or reflection that only copies the facts is left out (the summary
    then falls back to the facts' :func:`handle`, for causes and measures to refer to)."""
    instance = "。".join(_clean_sentence(unnamed(f)) for f in facts)
    summary = _summary(summary, instance)
    body = "。".join(p for p in (summary, instance, _reflection(reflection, instance)) if p) + "。"
    return body, summary or handle(instance)


def unnamed(fact: Fact) -> str:
    """The fact's text without the other people it names (its ``people``): a material speaks of
    “办公室主任”“老党员”, not of the colleague by name (their title, when given, stays)."""
    text = fact.text
    for name in sorted(fact.people, key=len, reverse=True):
        text = text.replace(name, "")
    return text


def _summary(raw: str, instance: str) -> str:
    """The model's one-line summary, unless it only copies the facts."""
    summary = _clean_sentence(raw)
    return "" if contained(summary, instance) >= 0.8 else summary


def write_aspect(run: Run, aspect: Aspect, facts: list[Fact], n0: int, feedback: str | None = None,
                 instruction: str | None = None) -> list[DraftItem]:
    """Problem items for one aspect, or a gap marker when no fact supports it."""
    run.emit("status", f"正在撰写问题：{aspect.name}")
    if not facts:
        who = "、本人角色" if run.facts.meeting_type == "个人" else ""
        return [DraftItem(id=f"P{n0}", aspect=aspect.name, gap=True,
                          text=GAP.format(what=f"{aspect.name}方面的具体事例（时间、事件、数字{who}）"))]
    slots = call_slots(run, "problems", ProblemSlots,
                       json_schema=problem_schema(_n_problems(facts), with_summary=not run.small),
                       **_aspect_variables(run, aspect, facts, feedback, instruction))
    by_id = {f.id: f for f in facts}
    items: list[DraftItem] = []
    for s in slots.items or []:
        ids = list(dict.fromkeys(x for x in s.fact_ids if x in by_id)) or [f.id for f in facts]
        if any(set(ids) <= set(it.fact_ids) for it in items):
            continue  # the same facts told twice
        body, summary = _problem_body(s.summary, [by_id[x] for x in ids], s.reflection)
        item = DraftItem(id=f"P{n0 + len(items)}", text=body, aspect=aspect.name, fact_ids=ids, summary=summary)
        items.append(guard(run, item))
        run.extras[item.id] = s
    return items or [DraftItem(id=f"P{n0}", aspect=aspect.name, gap=True,
                               text=GAP.format(what=f"{aspect.name}方面的具体问题"))]


def _n_problems(facts: list[Fact]) -> int:
    """How many problems one aspect's call writes: one per fact, at most two."""
    return min(2, len(facts))


def _aspect_variables(run: Run, aspect: Aspect, facts: list[Fact], feedback: str | None = None,
                      instruction: str | None = None) -> dict[str, Any]:
    """The problem prompt's variables for one aspect (retrieving its requirements)."""
    return dict(unit=run.facts.unit, role=_role(run.facts), year=run.facts.year, aspect=aspect.name,
                facts=_facts_view(facts), requirements=requirements(run, aspect), feedback=feedback,
                instruction=instruction, max_items=_n_problems(facts), dimensions=DIMENSIONS,
                with_summary=not run.small)


def problem_schema(n: int, with_summary: bool = True) -> dict[str, Any]:
    """Decoding schema for one aspect's problems (exactly n, so that the facts get used): for each, the facts it rests on, a summary,
    its root cause (one of DIMENSIONS, and why) and a measure that answers it, all in one call with
    the facts in view. Causes and measures come out tied to their problem and its facts, and two
    whole model calls (reading every problem again) are saved. The instance is the cited facts
    (rendered by code); the old 思想差距 reflection is not asked for: the cause says it.

    ``with_summary=False`` (the embedded model) leaves out the one-line summary: measured on the
    example facts, the small model's summaries copied the fact and were dropped, at ~25 tokens each;
    the problem then opens with the fact itself and is referred to by its first clause."""
    json_schema = ProblemSlots.model_json_schema()
    props = json_schema["$defs"]["ProblemSlot"]["properties"]
    order = ["依据", *(["问题"] if with_summary else []), "根源", "原因", "措施", "检验结果"]
    slot = json_schema["$defs"]["ProblemSlot"]
    slot["properties"] = {k: props[k] for k in order}
    slot["properties"]["根源"] = {"title": "根源", "type": "string", "enum": list(DIMENSIONS)}
    slot["required"] = order
    json_schema["properties"]["条目"].update(minItems=max(1, n), maxItems=max(1, n))
    return json_schema


def _role(facts: UnitFacts) -> str:
    return facts.writer.role if facts.writer else ""


def _real_problems(problems: list[DraftItem]) -> list[dict]:
    return [{"id": p.id, "summary": p.summary or handle(p.text)} for p in problems if not p.gap]


PROBLEM_MARK = re.compile(r"没有|没|未|无|不|少|晚|迟|滞后|缺|超过|超标|推迟|搁置|只|才|重复|推诿|互相推|流于|为主|倒数|偏|慢|难|漏")
DANGLING = re.compile(r"^(?:超过|低于|高于|比|均|都|也|仅|且)")
LEADING = re.compile(r"^(?:其中|但|而|且|并且|同时|还|另外|此外)")


def _han(text: str) -> int:
    return len(re.sub(r"[^\u4e00-\u9fff]", "", text))


def handle(text: str, limit: int = 26) -> str:
    """A short name for a problem, to say which problems a cause explains: the clause of its text
    that says what went wrong (a later, short one that does not hang on the clause before it),
    else its first clause. Taken from the text, so it adds no new fact."""
    text = re.sub(r"【[^】]*】", "", text)
    clauses = [LEADING.sub("", c.strip()) for c in re.split(r"[，,；;。：:！？!?]", text)]
    best, best_score = "", None
    for i, clause in enumerate(clauses):
        if _han(clause) < 5 or not PROBLEM_MARK.search(clause):
            continue
        score = (not DANGLING.match(clause), len(clause) <= limit, i)
        if best_score is None or score > best_score:
            best, best_score = (clause if score[0] or i == 0 else clauses[i - 1] + clause), score
    return best or next((c for c in clauses if _han(c) >= 4), text.strip()[:limit])


THOUGHT = re.compile("|".join([*DIMENSIONS, r"意识", r"认识", r"思想", r"观念", r"看得", r"看成", r"当成", r"当作",
                               r"重视", r"放松", r"淡化", r"淡了", r"满足于", r"敬畏", r"担当", r"责任感", r"责任心",
                               r"自觉", r"心态", r"宗旨", r"党性", r"信念", r"初心", r"政绩", r"站位", r"群众观",
                               r"本领", r"作风", r"怕", r"求稳", r"省事"]))


def is_reason(text: str) -> bool:
    """Does ``text`` say something about thought or Party spirit (a cause), rather than retell what
    happened or describe a post (“我作为分管办公室的党组成员”)?"""
    return _han(text) >= 6 and bool(THOUGHT.search(text))


def reason_of(raw: str, facts: str) -> str:
    """The reason a model wrote for a cause: its own words (:func:`own_words`) when they speak of
    thought or Party spirit, else the whole sentence when it does (a retold fact followed by a real
    reason beats a gap), else empty: not a cause."""
    mine = own_words(raw, facts)
    if is_reason(mine):
        return mine
    whole = _clean_sentence(raw)
    return whole if is_reason(whole) and contained(whole, facts) < 0.9 else ""


def cause_text(dimension: str, reason: str, handles: list[str]) -> str:
    """“从党性修养上看，A、B等问题，说明……。” — the cause names the problems it explains (as
    reviewers ask: 原因要与问题对应), then the model's reason."""
    names = "、".join(handles[:3])
    what = f"{names}等问题，" if len(handles) > 1 else f"{names}的问题，" if names else ""
    link = "" if re.match(r"^(?:根子|说明|反映|归根|是因为|在于|主要是)", reason) else "说明"
    return f"从{dimension}上看，{what}{link}{reason}。"


def write_causes(run: Run, problems: list[DraftItem], feedback: str | None = None,
                 instruction: str | None = None) -> list[DraftItem]:
    """Cause items, each linked to the problems it explains; at most one per dimension, no repeats."""
    run.emit("status", "正在剖析原因")
    listed = _real_problems(problems)
    if not listed:
        return [DraftItem(id="C1", gap=True, text=GAP.format(what="结合上述问题，从思想根源上剖析原因"))]
    merged = [] if feedback or instruction else _stored_causes(run, listed)
    if len(merged) < _causes_wanted(listed):
        answer = call_slots(run, "causes", CauseSlots, unit=run.facts.unit, year=run.facts.year, problems=listed,
                            dimensions=DIMENSIONS, feedback=feedback, instruction=instruction,
                            max_items=min(4, max(2, len(listed))), items=min(4, max(2, len(listed))))
        facts = _all_facts(run)
        reasons = [(s, reason_of(s.text, facts)) for s in answer.items]
        asked = merge_causes([s.model_copy(update={"text": r}) for s, r in reasons if r], {p["id"] for p in listed})
        merged = asked if len(asked) > len(merged) else merged
        merged += _reason_gaps(answer.items, merged, {p["id"] for p in listed}, _causes_wanted(listed) - len(merged))
    if not merged:
        return [DraftItem(id="C1", gap=True, text=GAP.format(what="结合上述问题，从思想根源上剖析原因"))]
    merged = _adopt_orphans(run, merged, listed)
    names = {p["id"]: p["summary"] for p in listed}
    return [guard(run, DraftItem(id=f"C{i}", text=cause_text(dim, text, [names[x] for x in ids if x in names]),
                                 problem_ids=ids, gap=text == REASON_GAP))
            for i, (dim, text, ids) in enumerate(merged, start=1)]


REASON_GAP = GAP.format(what="这些问题在思想上的根子，如把什么看得比什么更重、哪种意识淡了")


def _reason_gaps(slots: list[CauseSlot], merged: list[tuple[str, str, list[str]]], valid: set[str],
                 room: int) -> list[tuple[str, str, list[str]]]:
    """Causes whose reason the model did not give (it wrote a consequence or a work record): the
    dimension and the problems it chose are kept, the reason is left as a gap for the user, up to
    ``room`` of them, one per dimension not yet covered."""
    gaps: dict[str, list[str]] = {}
    taken = {d for d, _, _ in merged}
    for slot in slots:
        ids = [x for x in slot.problem_ids if x in valid]
        if len(gaps) >= room or slot.dimension not in DIMENSIONS or not ids:
            continue
        if slot.dimension in gaps:
            gaps[slot.dimension] += [x for x in ids if x not in gaps[slot.dimension]]
        elif slot.dimension not in taken:
            gaps[slot.dimension] = list(ids)
    return [(dim, REASON_GAP, ids) for dim, ids in gaps.items()]


def _causes_wanted(listed: list[dict]) -> int:
    """How many distinct causes a draft with these problems should have (1 for 1–2 problems, up to 3)."""
    return min(3, max(1, (len(listed) + 1) // 2))


def _adopt_orphans(run: Run, merged: list[tuple[str, str, list[str]]],
                   listed: list[dict]) -> list[tuple[str, str, list[str]]]:
    """Every problem explained by some cause: one no cause names joins the cause of its own root
    dimension (when the model gave one), else the first cause."""
    out = [(d, t, list(ids)) for d, t, ids in merged]
    named = {x for _, _, ids in out for x in ids}
    for p in listed:
        if p["id"] in named:
            continue
        slot = run.extras.get(p["id"])
        root = slot.root if slot is not None else ""
        k = next((i for i, (d, _, _) in enumerate(out) if d == root), 0)
        out[k][2].append(p["id"])
    order = [p["id"] for p in listed]
    return [(d, t, sorted(ids, key=lambda x: order.index(x) if x in order else len(order))) for d, t, ids in out]


COPIED = 0.6  # share of a sentence's bigrams found in the facts above which it only repeats them


def _problem_facts(run: Run, problems: list[DraftItem], ids: list[str]) -> str:
    by_id = {f.id: f.text for f in run.facts.facts}
    return "。".join(by_id[fid] for p in problems if p.id in ids for fid in p.fact_ids if fid in by_id)


def _all_facts(run: Run) -> str:
    """Every fact's text and the frame's aspect names: what a cause must not merely repeat (a model may
    copy a neighbouring problem's fact, or the aspect heading)."""
    return "。".join([*(f.text for f in run.facts.facts), *(a.name for a in run.frame.aspects)])


LEAD_IN = re.compile(r"^(?:这|此)?(?:表明|说明|反映出|反映了|暴露出|暴露了|体现出)|^(?:但|而|并且|同时|从而|导致)")


def own_words(text: str, facts: str) -> str:
    """``text`` without the clauses that only repeat the facts (a cause says why, not what happened).

    The small model often opens a cause by retelling the fact (“我2025年缺席3次，…这表明我对党性修养
    重视不够”); the retelling is cut and the rest kept. Empty when fewer than six Chinese characters remain.
    """
    kept: list[str] = []
    for clause in re.split(r"[，,。；;！？!?]", _clean_sentence(text)):
        clause = LEAD_IN.sub("", clause.strip()).lstrip("，, ")
        if _han(clause) < 3 or contained(clause, facts) >= COPIED:
            continue
        kept.append(clause)
    out = "，".join(kept)
    return out if _han(out) >= 6 else ""


def _stored_causes(run: Run, listed: list[dict]) -> list[tuple[str, str, list[str]]]:
    """Causes from the root causes written with each problem, grouped by dimension (no model call).

    Clauses that only repeat facts are cut (:func:`own_words`), and what is left must speak of thought
    or Party spirit (:func:`is_reason`); the problems whose cause is dropped are later given to a kept
    one. Empty when a problem came without any cause (a model that does not fill them)."""
    slots = []
    all_facts = _all_facts(run)
    for p in listed:
        x = run.extras.get(p["id"])
        if x is None or not x.cause.strip():
            return []
        text = reason_of(x.cause, all_facts)
        if text:
            slots.append(CauseSlot(problem_ids=[p["id"]], dimension=x.root, text=text))
    return merge_causes(slots, {p["id"] for p in listed}, per_dimension=2)


def merge_causes(slots: list[CauseSlot], valid: set[str], per_dimension: int = 1) -> list[tuple[str, str, list[str]]]:
    """(dimension, text, problem ids) per cause: one cause per dimension, near-identical texts merged.

    A cause whose text nearly repeats an earlier one only adds its problem ids to it. Of several
    causes of the same dimension, the first ``per_dimension`` texts are joined with “；” (per-problem
    causes, each short) and later ones only add their problem ids (joining the small model's long
    whole-draft causes made restatements).
    """
    out: list[tuple[str, list[str], list[str]]] = []
    for slot in slots:
        dim = slot.dimension if slot.dimension in DIMENSIONS else "党性修养"
        text = re.sub(rf"^从?{dim}(?:方面|上看)[，,：:。]?|^{dim}[，,：:。]", "", _clean_sentence(slot.text))
        ids = [x for x in slot.problem_ids if x in valid]
        if not text:
            continue
        k = next((i for i, (d, ts, _) in enumerate(out) if any(similarity(t, text) >= 0.5 for t in ts)), None)
        if k is None:
            k = next((i for i, (d, _, _) in enumerate(out) if d == dim), None)
        if k is None:
            out.append((dim, [text], ids))
            continue
        d, ts, old = out[k]
        if d == dim and len(ts) < per_dimension and all(similarity(t, text) < 0.5 for t in ts):
            ts = [*ts, text]
        out[k] = (d, ts, list(dict.fromkeys(old + ids)))
    return [(d, "；".join(ts), ids) for d, ts, ids in out]


def deadline(meeting: dt.date, months: int) -> str:
    """End of the month ``months`` after the meeting, as “YYYY年M月底前”."""
    y, m = divmod(meeting.month - 1 + months, 12)
    year, month = meeting.year + y, m + 1
    calendar.monthrange(year, month)
    return f"{year}年{month}月底前"


DEFAULT_OWNER = {"班子": "班子主要负责同志牵头、办公室具体落实", "个人": "本人", "支部": "支部书记牵头、支部委员分工落实"}
RESULT_WORDS = re.compile(r"\d|[一二两三四五六七八九十]+[次项条篇份场个名]|台账|清单|制度|办法|方案|报告|记录|销号")
OWNER_VERB = re.compile(r"牵头|负责|落实|带头|主抓")
MONTHS = (1, 2, 3, 3, 6, 6, 6, 9, 9, 12)


# Proposed owners by the category of the facts behind a problem (the user confirms them).
OWNER_BY_CATEGORY = {
    "班子": {
        "学习": "班子主要负责同志牵头、办公室具体落实",
        "巡察反馈": "分管班子成员牵头、相关科室具体落实",
        "审计反馈": "分管财务的班子成员牵头、相关科室具体落实",
        "纪律": "班子成员按分工牵头、纪检组织督促落实",
        "廉洁": "班子成员按分工牵头、纪检组织督促落实",
        "作风": "分管班子成员牵头、办公室督促落实",
        "征求意见": "分管班子成员牵头、相关科室具体落实",
        "管党治党": "班子主要负责同志牵头、班子成员按分工落实",
    },
    "支部": {
        "学习": "支部书记牵头、组织委员具体落实",
        "纪律": "支部书记牵头、纪检委员督促落实",
        "廉洁": "支部书记牵头、纪检委员督促落实",
        "作风": "支部书记牵头、支部委员分工落实",
    },
}


def owner_of(raw: str, meeting_type: str, categories: list[str] | None = None) -> str:
    """The measure's owner as a phrase that reads after 由 (“办公室牵头”); 本人 for 个人 drafts.

    Without an owner from the model, one is proposed from the categories of the facts behind the
    problem (a proposal to confirm, like the deadline)."""
    if meeting_type == "个人":
        return "本人"
    owner = re.sub(r"^由|[，,。；;：:\s]+$", "", raw.strip())
    if not owner or owner in ("本人", "我", "我们", "班子"):
        table = OWNER_BY_CATEGORY.get(meeting_type, {})
        return next((table[c] for c in categories or [] if c in table), DEFAULT_OWNER[meeting_type])
    return owner if OWNER_VERB.search(owner) else f"{owner}牵头"


def measure_text(action: str, result: str, owner: str, due: str) -> str:
    """“由办公室牵头，建立…，形成…，2026年2月底前完成。” (个人: “本人…”, no 由 lead-in)."""
    action = re.sub(r"^(?:由.{1,20}?(?:牵头|负责)[，,]?|本人|我)", "", _clean_sentence(action))
    lead = "本人" if owner == "本人" else f"由{owner}，"
    return f"{lead}{action}，{result}，{due}完成。"


def write_measures(run: Run, problems: list[DraftItem], feedback: str | None = None,
                   instruction: str | None = None) -> list[DraftItem]:
    """Measures with action, checkable result, owner and a deadline derived from the meeting date.

    Each measure is linked to the problems it answers; a problem no measure answers gets a gap item.
    """
    run.emit("status", "正在拟定整改措施")
    listed = _real_problems(problems)
    if not listed:
        return [DraftItem(id="M1", gap=True, text=GAP.format(what="针对上述问题的整改措施"))]
    listed = listed[:MAX_MEASURES]
    meeting = run.facts.meeting_date or dt.date.today()
    items: list[DraftItem] = []
    actions: list[str] = []
    for ids, s in _measure_answers(run, listed, feedback, instruction):
        if not s.action.strip() or any(similarity(s.action, a) >= 0.6 for a in actions):
            continue  # the same measure twice
        actions.append(s.action)
        due = deadline(meeting, MONTHS[min(len(items), len(MONTHS) - 1)])
        owner = owner_of(s.owner, run.facts.meeting_type, _categories(problems, ids, run.facts))
        result = _result_of(s.result, s.action, _problem_facts(run, problems, ids))
        items.append(DraftItem(id=f"M{len(items) + 1}", text=measure_text(s.action, result, owner, due),
                               problem_ids=ids, to_confirm=[due, owner, result]))
    return items + _uncovered(listed, items)


MAX_MEASURES = 10


def _measure_answers(run: Run, listed: list[dict], feedback: str | None,
                     instruction: str | None) -> list[tuple[list[str], MeasureSlot]]:
    """(problem ids, measure) in problem order: the measure written with each problem where there is
    one, and one call for the rest (all of them when revising with feedback or an instruction)."""
    fresh = feedback is not None or instruction is not None
    stored = {p["id"]: run.extras.get(p["id"]) for p in listed}
    have = {pid: x for pid, x in stored.items() if not fresh and x is not None and x.action.strip()}
    missing = [p for p in listed if p["id"] not in have]
    asked: dict[str, MeasureSlot] = {}
    if missing:
        valid = [p["id"] for p in missing]
        answer = call_slots(run, "measures", MeasureSlots, unit=run.facts.unit, year=run.facts.year,
                            problems=missing, feedback=feedback, instruction=instruction,
                            json_schema=measure_schema(len(missing)))
        for position, s in enumerate(answer.items):
            ids = [x for x in s.problem_ids if x in valid] or valid[position:position + 1]
            if ids and ids[0] not in asked:
                asked[ids[0]] = s.model_copy(update={"problem_ids": ids})
    out = []
    for p in listed:
        if p["id"] in have:
            x = have[p["id"]]
            out.append(([p["id"]], MeasureSlot(problem_ids=[p["id"]], action=x.action, result=x.result)))
        elif p["id"] in asked:
            out.append((asked[p["id"]].problem_ids, asked[p["id"]]))
    return out


def measure_schema(n: int) -> dict[str, Any]:
    """Decoding schema for the measures step: exactly one measure per listed problem, in order, with
    action and result only. Which problem a measure answers is its position; the owner is proposed
    by code (:func:`owner_of`), as the deadline is: neither is in the facts, and the small model
    wrote the unit's own name as owner. Answers with 对应问题/牵头 (other models, tests) still validate."""
    json_schema = MeasureSlots.model_json_schema()
    slot = json_schema["$defs"]["MeasureSlot"]
    for key in ("对应问题", "牵头"):
        slot["properties"].pop(key, None)
    slot["required"] = list(slot["properties"])
    json_schema["properties"]["条目"].update(minItems=max(1, n), maxItems=max(1, n))
    return json_schema


def _categories(problems: list[DraftItem], ids: list[str], facts: UnitFacts) -> list[str]:
    """Fact categories behind the given problems (to propose who should own a measure)."""
    by_id = {f.id: f.category for f in facts.facts}
    return [by_id[fid] for p in problems if p.id in ids for fid in p.fact_ids if fid in by_id]


# A result clause that reports an outcome as already reached (“取得了显著成效”“我已对…进行了全面检查”) or
# only restates the means (“通过加强…”): a measure is a commitment, its result a target to check later.
CLAIMED = re.compile(r"^通过|取得了|得到了|有了|已经|^我?已|进行了|实现了|提高了|提升了|增强了|减少了|加强了|显著|"
                     r"明显|良好|有效管理|需要进一步")


def _result_of(raw: str, action: str, facts: str = "") -> str:
    """The checkable result without clauses the action already says, that only repeat the problem's
    facts (a result is what will be achieved, not what went wrong) or that claim it is already
    achieved (:data:`CLAIMED`); a ledger when nothing checkable is left."""
    seen = _clean_sentence(action)
    clauses: list[str] = []
    for clause in re.split(r"[，,；;]", _clean_sentence(raw)):
        clause = clause.strip()
        copied = facts and len(clause) >= 6 and contained(clause, facts) >= COPIED
        if clause and clause not in seen and clause not in clauses and not copied and not CLAIMED.search(clause):
            clauses.append(clause)
    result = "，".join(clauses)
    if not RESULT_WORDS.search(result):
        result = f"{result}，建立整改台账、逐项销号" if result else "建立整改台账、逐项销号"
    return result


def _uncovered(listed: list[dict], measures: list[DraftItem]) -> list[DraftItem]:
    """Gap items for the problems that no measure answers."""
    covered = {x for it in measures for x in it.problem_ids}
    return [DraftItem(id=f"M{len(measures) + i}", gap=True, problem_ids=[p["id"]],
                      text=GAP.format(what=f"针对“{p['summary'][:20]}”的整改措施"))
            for i, p in enumerate((p for p in listed if p["id"] not in covered), start=1)]


def write_opening(facts: UnitFacts, frame: Frame) -> DraftItem:
    """The opening paragraph from the notice, the theme and the preparation figures (gaps where missing)."""
    p = facts.preparation
    fig = [
        f"开展学习研讨{p.study_sessions}次" if p.study_sessions is not None else GAP.format(what="学习研讨次数"),
        f"谈心谈话{p.talks}人次" if p.talks is not None else GAP.format(what="谈心谈话人次"),
        f"征求意见建议{p.opinions}条" if p.opinions is not None else GAP.format(what="征求意见条数"),
    ]
    who = "我" if facts.meeting_type == "个人" else "班子"
    text = (f"按照{facts.year}年度{frame.meeting}的有关要求，{who}围绕{frame.theme}，会前{'、'.join(fig)}，"
            f"对照{'、'.join(a.name for a in frame.aspects[:2])}等方面认真查摆问题、剖析根源。现对照检查如下。")
    return DraftItem(id="O1", text=text)


def write_special(kind: str, facts: list[Fact], required: bool, who: str) -> DraftPart | None:
    """上年度整改 / 反面典型案例剖析 from the user's own facts (their words), or a gap when required."""
    if not facts and not required:
        return None
    items = [DraftItem(id=f"{kind[0].upper()}{i}", text=f.text.rstrip("。") + "。", fact_ids=[f.id])
             for i, f in enumerate(facts, start=1)]
    if kind == "case":
        items.append(DraftItem(id=f"K{len(items) + 1}", gap=True,
                               text=GAP.format(what=f"对照案例，{who}查找出的自身差距和警示")))
    if not facts:
        what = "上年度整改措施的完成情况（已完成、正在推进、未完成及原因）" if kind == "rectification" else "本年度选取的反面典型案例"
        items = [DraftItem(id=f"{kind[0].upper()}1", gap=True, text=GAP.format(what=what))]
    return DraftPart(kind=kind, title=PART_TITLES[kind], items=items)


# --------------------------------------------------------------------------- assembly and revision

def warm_up(model: BaseChatModel, meeting_type: str = "班子") -> bool:
    """Have the embedded model read the shared system prompt and the fixed problem-writing
    instructions once, ahead of the first draft.

    llama.cpp keeps the evaluated tokens and reuses the longest common prefix on the next call, so
    the first drafting call then only reads its own part (measured: a repeated prompt's first token
    came after 0.2 s instead of 6.6 s); the problem prompt of every aspect starts with the same
    instructions for the same reason. Call it when the model is loaded, e.g. in the background at
    app start. Other models gain nothing: False, no call.
    """
    if not isinstance(model, ChatLlamaCpp):
        return False
    msgs = [SystemMessage(content=prompting.render("system", meeting_type=meeting_type)),
            HumanMessage(content=prompting.render("problems_task", meeting_type=meeting_type, dimensions=DIMENSIONS,
                                                  with_summary=False))]
    with llm_errors():
        model.invoke(msgs, max_tokens=1)
    return True


def first_messages(facts: UnitFacts, model: BaseChatModel, kb: Any = None) -> list[BaseMessage] | None:
    """The messages of the first model call :func:`draft_from_facts` will make for ``facts`` (the
    first aspect with facts), as sent to ``model``; None when the draft would start without a call."""
    frame = resolve_frame(facts)
    run = Run(facts=facts, frame=frame, model=model, kb=kb, known="")
    by_aspect, _ = plan(facts, frame)
    aspect = next((a for a in frame.aspects if by_aspect[a.name]), None)
    if aspect is None:
        return None
    msgs = prompting.messages("problems", meeting_type=facts.meeting_type,
                              **_aspect_variables(run, aspect, by_aspect[aspect.name]))
    schema = problem_schema(_n_problems(by_aspect[aspect.name]), with_summary=not run.small)
    return with_json_instruction(as_messages(msgs), schema, brief=run.small)


def read_ahead(facts: UnitFacts, model: BaseChatModel, kb: Any = None) -> bool:
    """Have the embedded model read this draft's first prompt (system, instructions, the first
    aspect's facts) before the user starts the draft, e.g. while they look over the facts.

    Like :func:`warm_up` one level further: llama.cpp keeps the evaluated prompt, so the draft's
    first call then only has to start writing (the facts cost ~5 s of prompt reading on 2 cores).
    The work is never wasted: a draft started meanwhile waits for the model and reuses it. Other
    models gain nothing: False, no call."""
    if not isinstance(model, ChatLlamaCpp):
        return False
    msgs = first_messages(facts, model, kb)
    if msgs is None:
        return False
    with llm_errors():
        model.invoke(msgs, max_tokens=1)
    return True


def resolve_frame(facts: UnitFacts) -> Frame:
    """The facts' frame, or the default for their year and type; InputError when none fits."""
    frame = get_frame(facts.frame) if facts.frame else select_frame(facts.year, facts.meeting_type)
    if frame is None:
        raise InputError(f"没有适用于{facts.year}年度{facts.meeting_type}材料的框架",
                         "请在事实文件中用 frame 指定框架，或在 knowledge_base/frames/ 新增一个")
    return frame


def assemble(run: Run, problems: list[DraftItem], causes: list[DraftItem], measures: list[DraftItem],
             special: dict[str, list[Fact]]) -> Draft:
    """Put the parts together in the order the year's frame expects."""
    f, frame = run.facts, run.frame
    who = "我" if f.meeting_type == "个人" else "班子"
    parts = [DraftPart(kind="opening", title="", items=[write_opening(f, frame)])]
    rect = write_special("rectification", special["rectification"], "上年度整改" in frame.required_sections, who)
    case = write_special("case", special["case"], "反面典型案例剖析" in frame.required_sections, who)
    parts += [p for p in (rect,) if p]
    parts.append(DraftPart(kind="problems", title=PART_TITLES["problems"], items=problems))
    parts += [p for p in (case,) if p]
    parts.append(DraftPart(kind="causes", title=PART_TITLES["causes"], items=causes))
    parts.append(DraftPart(kind="measures", title=PART_TITLES["measures"], items=measures))
    title = f"{f.unit}{f.year}年度{frame.meeting}{'个人' if f.meeting_type == '个人' else ''}对照检查材料"
    return Draft(unit=f.unit, meeting_type=f.meeting_type, year=f.year, frame_id=frame.id, frame_name=frame.name,
                 title=title, parts=parts, citations=run.citations, guard_events=run.guard_events)


def review(run: Run, draft: Draft) -> dict[str, list[str]]:
    """Critic findings of error level, per item id (our own gap markers excluded)."""
    text, spans = to_markdown(draft, with_spans=True)
    report = critique(text, year=run.facts.year, meeting_type=run.facts.meeting_type, frame_id=run.frame.id,
                      known_text=run.known)
    draft.stats["critic"] = report.summary["levels"]
    out: dict[str, list[str]] = {}
    gap_ids = {it.id for it in draft.gaps}
    for f in report.findings:
        if f.level != "error":
            continue
        for item_id, (a, b) in spans.items():
            if a <= f.start < b and not (item_id in gap_ids or f.rule == "placeholder.unfilled"):
                out.setdefault(item_id, []).append(f.message)
    return out


UNFINISHED = "【未生成：{what}（模型调用中断，请重新起草或手工补写）】"


@dataclass
class Sections:
    """What has been written so far; ``step`` names the step under way (for error messages)."""

    problems: dict[str, list[DraftItem]] = field(default_factory=dict)
    causes: list[DraftItem] | None = None
    measures: list[DraftItem] | None = None
    step: str = "撰写问题"

    def filled(self, frame: Frame, marker: str = "") -> tuple[list[DraftItem], list[DraftItem], list[DraftItem]]:
        """Problems, causes, measures with every unwritten item as a gap marker (UNFINISHED by default;
        PENDING for the live view while the draft is being written)."""
        marker = marker or UNFINISHED
        problems: list[DraftItem] = []
        for aspect in frame.aspects:
            problems += self.problems.get(aspect.name) or [DraftItem(
                id=f"P{len(problems) + 1}", aspect=aspect.name, gap=True,
                text=marker.format(what=f"{aspect.name}方面的问题"))]
        causes = self.causes or [DraftItem(id="C1", gap=True, text=marker.format(what="原因分析"))]
        measures = self.measures or [DraftItem(id="M1", gap=True, text=marker.format(what="整改措施"))]
        return problems, causes, measures


PENDING = "【正在撰写：{what}】"


def show_progress(run: Run, out: Sections, special: dict[str, list[Fact]]) -> None:
    """Send the draft as written so far (``draft`` event): the parts rendered from the facts at once,
    then each aspect, the causes and the measures as they are done; the rest as PENDING markers."""
    if run.on_event is None:
        return
    if run.first_text_at is None:
        run.first_text_at = time.perf_counter()
    run.emit("draft", assemble(run, *out.filled(run.frame, PENDING), special))


def write_sections(run: Run, by_aspect: dict[str, list[Fact]], out: Sections,
                   special: dict[str, list[Fact]] | None = None) -> None:
    """Problems aspect by aspect, then causes, then measures, recorded in ``out`` as they are done
    (and shown as they are done, see :func:`show_progress`)."""
    special = special if special is not None else {"rectification": [], "case": []}
    show_progress(run, out, special)
    for aspect in run.frame.aspects:
        out.step = f"撰写问题（{aspect.name}）"
        n0 = sum(len(v) for v in out.problems.values()) + 1
        out.problems[aspect.name] = write_aspect(run, aspect, by_aspect[aspect.name], n0)
        show_progress(run, out, special)
    run.emit("part", "problems")
    problems = out.filled(run.frame)[0]
    out.step = "剖析原因"
    out.causes = write_causes(run, problems)
    show_progress(run, out, special)
    run.emit("part", "causes")
    out.step = "拟定整改措施"
    out.measures = write_measures(run, problems)
    run.emit("part", "measures")


def draft_from_facts(facts: UnitFacts, model: BaseChatModel, *, kb: Any = None, on_event: Event | None = None,
                     max_rounds: int = 1) -> Draft:
    """Draft the whole material from the facts. ``on_event(kind, payload)`` receives status/token/part/done.

    When a model call fails for good, :class:`DraftInterrupted` is raised carrying the partial draft
    (unwritten items as 【未生成：…】 markers; after a failed revision round, the unrevised draft).
    """
    frame = resolve_frame(facts)
    run = Run(facts=facts, frame=frame, model=model, kb=kb, on_event=on_event,
              known=facts.known_text() + f"\n{facts.year}年 {facts.year}年度 {frame.name}")
    by_aspect, special = plan(facts, frame)
    sections = Sections()
    try:
        write_sections(run, by_aspect, sections, special)
    except LLMError as exc:
        partial = assemble(run, *sections.filled(frame), special)
        raise _interrupted(run, partial, exc, sections.step) from exc
    draft = assemble(run, *sections.filled(frame), special)
    for _ in range(max_rounds):
        bad = review(run, draft)
        if not bad:
            break
        run.emit("status", f"根据批改意见重写 {len(bad)} 条")
        before = draft.model_copy(deep=True)
        try:
            _revise_flagged(run, draft, by_aspect, bad)
        except LLMError as exc:
            raise _interrupted(run, before, exc, "根据批改意见修改") from exc
    else:
        review(run, draft)
    _finish(run, draft, by_aspect)
    run.emit("done", draft)
    return draft


def _interrupted(run: Run, partial: Draft, exc: LLMError, step: str) -> DraftInterrupted:
    _finish(run, partial, {})
    partial.stats["interrupted_at"] = step
    run.emit("status", f"起草在“{step}”这一步中断，已保留已写好的部分")
    return DraftInterrupted(exc, partial, step)


def _revise_flagged(run: Run, draft: Draft, by_aspect: dict[str, list[Fact]], bad: dict[str, list[str]]) -> None:
    problems = draft.part("problems")
    for aspect in run.frame.aspects:
        ids = [it.id for it in problems.items if it.aspect == aspect.name and it.id in bad]
        if ids:
            feedback = "；".join(dict.fromkeys(m for i in ids for m in bad[i]))
            new = write_aspect(run, aspect, by_aspect[aspect.name], 1, feedback=feedback)
            _replace_aspect(problems, aspect.name, new)
    _renumber(problems)
    causes = draft.part("causes")
    flagged = [it.id for it in causes.items if it.id in bad]
    if flagged:
        causes.items = write_causes(run, problems.items, feedback=_feedback(bad, flagged))
    _revise_measures(run, draft.part("measures"), problems.items, bad)


def _feedback(bad: dict[str, list[str]], ids: list[str]) -> str:
    return "；".join(dict.fromkeys(m for i in ids for m in bad[i]))


def _revise_measures(run: Run, part: DraftPart, problems: list[DraftItem], bad: dict[str, list[str]]) -> None:
    """Rewrite only the flagged measures: one call for the problems they answer, each new measure put
    in the place (and keeping the deadline) of the one it replaces."""
    flagged = [it for it in part.items if it.id in bad and not it.gap]
    targets = [p for p in problems if any(p.id in it.problem_ids for it in flagged)]
    if not targets:
        return
    new = [it for it in write_measures(run, targets, feedback=_feedback(bad, [it.id for it in flagged]))
           if not it.gap]
    for old in flagged:
        repl = next((it for it in new if set(it.problem_ids) & set(old.problem_ids)), None)
        if repl is None:
            continue
        new.remove(repl)
        due = old.to_confirm[0] if old.to_confirm else ""
        if due and repl.to_confirm:
            repl.text = repl.text.replace(repl.to_confirm[0], due)
            repl.to_confirm[0] = due
        repl.id, repl.problem_ids = old.id, old.problem_ids
        part.items[part.items.index(old)] = repl


def _replace_aspect(part: DraftPart, aspect: str, new: list[DraftItem]) -> None:
    idx = [i for i, it in enumerate(part.items) if it.aspect == aspect]
    part.items[idx[0]:idx[-1] + 1] = new


def _renumber(part: DraftPart) -> None:
    for i, it in enumerate(part.items, start=1):
        it.id = f"P{i}"


def _finish(run: Run, draft: Draft, by_aspect: dict[str, list[Fact]]) -> None:
    used = {fid for p in draft.parts for it in p.items for fid in it.fact_ids}
    draft.citations, draft.guard_events = run.citations, run.guard_events
    draft.stats.update({
        "seconds": round(time.perf_counter() - run.started, 2),
        "first_token_s": round(run.first_token, 2) if run.first_token is not None else None,
        "first_text_s": round(run.first_text_at - run.started, 2) if run.first_text_at is not None else None,
        "llm_calls": run.calls,
        "llm_retries": run.stats.retries,
        "tokens": run.tokens,
        "fact_coverage": round(len(used) / max(1, len(run.facts.facts)), 3),
        "facts_unused": [f.id for f in run.facts.facts if f.id not in used],
        "gaps": len(draft.gaps),
        "guard_events": len(run.guard_events),
    })


# --------------------------------------------------------------------------- user revisions

ORDINAL = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*(?:个|条|项)?\s*(问题|原因|措施)?")
PART_OF = {"问题": "problems", "原因": "causes", "措施": "measures"}


def target_of(instruction: str, draft: Draft) -> DraftItem | None:
    """The item a free-text instruction refers to (“第二个问题再具体一些”), if it names one."""
    m = ORDINAL.search(instruction)
    if not m:
        return None
    raw = m.group(1)
    n = int(raw) if raw.isdigit() else "一二三四五六七八九十".index(raw[-1]) + 1 if len(raw) == 1 else 10
    part = draft.part(PART_OF.get(m.group(2) or "问题", "problems"))
    real = [it for it in part.items if not it.gap] if part else []
    return real[n - 1] if 0 < n <= len(real) else None


def revise_item(draft: Draft, item_id: str, instruction: str, facts: UnitFacts, model: BaseChatModel,
                on_event: Event | None = None) -> Draft:
    """Rewrite one item following the user's instruction, under the same guard. Returns a new Draft."""
    new = draft.model_copy(deep=True)
    item = new.item(item_id)
    if item is None:
        raise InputError(f"找不到要修改的条目 {item_id}", "请先选择一条问题、原因或措施")
    run = Run(facts=facts, frame=resolve_frame(facts), model=model, on_event=on_event,
              known=facts.known_text() + "\n" + "\n".join(c.text for c in draft.citations))
    ids = item.fact_ids or [fid for p in new.parts for it in p.items if it.id in item.problem_ids for fid in it.fact_ids]
    ref = [f for f in facts.facts if f.id in ids] or facts.facts[:6]
    label = next(p.title for p in new.parts if item in p.items)
    out = call_slots(run, "revise", ItemRewrite, part_label=label, text=item.text, facts=_facts_view(ref),
                     instruction=instruction)
    item.text = _clean_sentence(out.text) + "。"
    kind = next(p.kind for p in new.parts if item in p.items)
    if kind in ("problems", "causes"):
        guard(run, item)
    new.guard_events = [*draft.guard_events, *run.guard_events]
    return new


PARTS_TO_REWRITE = {"problems": "存在的问题", "causes": "原因分析", "measures": "整改措施"}


def regenerate_part(draft: Draft, kind: str, facts: UnitFacts, model: BaseChatModel, instruction: str | None = None,
                    *, kb: Any = None, on_event: Event | None = None) -> Draft:
    """Write one part again; returns a new Draft (the given one is untouched, also when a call fails).

    原因 or 措施: that part only, from the draft's current problems, in one call, following the optional
    instruction. 问题: the three parts the model writes are drafted again from the facts (causes and
    measures rest on the problems); the opening and the parts taken from the facts stay.
    """
    if kind not in PARTS_TO_REWRITE:
        raise InputError(f"不能重写“{kind}”部分", "可以重写：" + "、".join(PARTS_TO_REWRITE.values()))
    frame = resolve_frame(facts)
    new = draft.model_copy(deep=True)
    run = Run(facts=facts, frame=frame, model=model, kb=kb, on_event=on_event,
              known="\n".join([facts.known_text(), *(c.text for c in draft.citations),
                               f"{facts.year}年 {facts.year}年度 {frame.name}"]))
    instruction = instruction.strip() if instruction and instruction.strip() else None
    if kind == "problems":
        by_aspect, special = plan(facts, frame)
        sections = Sections()
        write_sections(run, by_aspect, sections, special)
        for part_kind, items in zip(("problems", "causes", "measures"), sections.filled(frame), strict=True):
            new.part(part_kind).items = items
    else:
        problems = new.part("problems").items
        writer = write_causes if kind == "causes" else write_measures
        new.part(kind).items = writer(run, problems, instruction=instruction or "换一种写法，写得更具体")
    new.citations = [*draft.citations, *(c for c in run.citations if c not in draft.citations)]
    new.guard_events = [*draft.guard_events, *run.guard_events]
    return new


def apply_instruction(draft: Draft, instruction: str, facts: UnitFacts, model: BaseChatModel,
                      on_event: Event | None = None) -> Draft:
    """Apply a chat instruction: to the item it names, else to every problem item."""
    if not instruction.strip():
        raise InputError("修改意见是空的", "例如：第二个问题再具体一些")
    target = target_of(instruction, draft)
    if target:
        return revise_item(draft, target.id, instruction, facts, model, on_event)
    new = draft
    for it in [i for i in draft.part("problems").items if not i.gap]:
        new = revise_item(new, it.id, instruction, facts, model, on_event)
    return new
