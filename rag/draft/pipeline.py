"""Fact-grounded drafting: plan → problems → causes → measures → assemble → guard → review.

The chat model, the embedder and the knowledge base are arguments (one seam for models). Each model call
is one small job with worked examples from ``knowledge_base/genre/`` (a 定性, a reason, an action, a case
lesson), checked with the genre predicates the critic also uses; code composes the genre around the
answers (:mod:`rag.draft.assemble`). Nothing the facts or the cited sources do not support survives in
the draft: the guard (the critic's grounding check) turns it into a visible 【待核实】 and records it.

Steps live in their own modules: :mod:`~rag.draft.plan`, :mod:`~rag.draft.problems`,
:mod:`~rag.draft.causes`, :mod:`~rag.draft.measures`, :mod:`~rag.draft.assemble`, :mod:`~rag.draft.revise`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from rag.critic import grounding
from rag.critic.engine import critique
from rag.draft import slots
from rag.draft.assemble import assemble, case_items
from rag.draft.bank import heading_examples, heading_nearest
from rag.draft.causes import write_causes
from rag.draft.facts import Fact, UnitFacts
from rag.draft.items import Cause, Measure, Plan, Problem
from rag.draft.measures import deadline, unfinished_rectification, write_measures
from rag.draft.plan import plan_facts, resolve_frame
from rag.draft.problems import instance_of, write_problems
from rag.draft.profile import ModelProfile, profile_for
from rag.draft.render import to_markdown
from rag.draft.revise import (
    PARTS_TO_REWRITE,
    apply_instruction,
    regenerate_part,
    revise_item,
    target_of,
)
from rag.draft.run import Event, Run
from rag.draft.schemas import Citation, Draft, DraftItem, GuardEvent
from rag.errors import LLMError
from rag.frames import Aspect, Frame
from rag.genre import PENDING, UNFINISHED, UNVERIFIED
from rag.llm import ChatLlamaCpp, llm_errors

__all__ = [
    "PARTS_TO_REWRITE", "DraftInterrupted", "Run", "apply_instruction", "deadline", "draft_from_facts",
    "first_messages", "guard_draft", "known_text", "read_ahead", "regenerate_part", "resolve_frame",
    "revise_item", "target_of", "warm_up",
]


class DraftInterrupted(LLMError):
    """A model call failed mid-draft. ``partial`` is the draft so far: every item that was not
    written is a visible 【未生成：…】 gap marker, so the caller can save it and nothing is lost."""

    def __init__(self, cause: LLMError, partial: Draft, step: str) -> None:
        super().__init__(
            f"起草在“{step}”这一步中断：{cause.message}",
            f"已写好的部分已保留，没写完的条目标注了【未生成】；{cause.hint}",
        )
        self.cause, self.partial, self.step = cause, partial, step


def known_text(facts: UnitFacts, frame: Frame) -> str:
    """What a draft may state as fact: the facts, the frame's own wording, the year and meeting year."""
    return "\n".join([facts.known_text(), frame.name, frame.theme, *(a.name for a in frame.aspects),
                      f"{facts.year}年 {facts.year}年度 {facts.year + 1}年"])


def default_embedder() -> Any:
    """The bundled embedder, or None when it cannot be loaded (placement then uses category and keywords)."""
    try:
        from rag.embed import get_embedder

        return get_embedder()
    except Exception:  # noqa: BLE001 - drafting still works without the semantic signal
        return None


def make_run(facts: UnitFacts, model: BaseChatModel, *, kb: Any = None, embedder: Any = None,
             on_event: Event | None = None, profile: ModelProfile | None = None) -> Run:
    """A run with its frame, profile, embedder and known text set up."""
    frame = resolve_frame(facts)
    return Run(facts=facts, frame=frame, model=model, kb=kb, embedder=embedder, on_event=on_event,
               profile=profile or profile_for(), known=known_text(facts, frame))


# ----------------------------------------------------------------------------------------- retrieval

def requirements(run: Run, aspect: Aspect, k: int = 1) -> None:
    """Policy passages for an aspect, kept as citations; only the cited span becomes known text."""
    if run.kb is None:
        return
    try:
        hits = run.kb.search(f"{aspect.name} {aspect.description or ' '.join(aspect.keywords)}", k=k, kinds=["policy"])
    except Exception:  # noqa: BLE001 - retrieval is a help, not a requirement
        return
    for h in hits:
        snippet = re.sub(r"\s+", "", h.text)[:110]
        citation = Citation(source=h.source, title=getattr(h, "title", ""), location=getattr(h, "citation", ""),
                            text=snippet)
        if citation not in run.citations:
            run.citations.append(citation)
            run.known += "\n" + snippet


# ----------------------------------------------------------------------------------------- guard

def guard_text(run: Run, item_id: str, text: str, statements_only: bool = False) -> str:
    """``text`` with every claim the facts and cited spans don't support replaced by 【待核实】 (recorded)."""
    found = sorted(grounding.unsupported(text, run.known_claims(), statements_only=statements_only),
                   key=lambda c: c.start)
    run.guard_events += [GuardEvent(item_id=item_id, token=c.text) for c in found]
    for claim in reversed(found):
        text = text[:claim.start] + UNVERIFIED + text[claim.end:]
    return text


def guard_draft(run: Run, draft: Draft) -> Draft:
    """Guard every item of the draft (measures: only statements of fact, not the proposed deadlines)."""
    for part in draft.parts:
        if part.kind == "opening":
            continue
        for item in part.items:
            if not item.gap:
                item.text = guard_text(run, item.id, item.text, statements_only=part.kind == "measures")
    return draft


# ----------------------------------------------------------------------------------------- the run

@dataclass
class Sections:
    """What has been written so far; ``step`` names the step under way (for error messages)."""

    problems: dict[str, list[Problem]] = field(default_factory=dict)
    causes: list[Cause] | None = None
    measures: list[Measure] | None = None
    case: list[DraftItem] | None = None
    step: str = "撰写问题"

    def draft(self, run: Run, plan: Plan, marker: str = UNFINISHED) -> Draft:
        """The draft as far as it is written; unwritten parts as ``marker`` gaps."""
        draft = assemble(run, dict(self.problems), self.causes or [], self.measures or [], plan.gaps, plan.rectification,
                         plan.case, self.case if self.case is not None else _pending_case(plan, marker))
        _mark_unwritten(draft, run, self, plan, marker)
        return draft


def _pending_case(plan: Plan, marker: str) -> list[DraftItem] | None:
    if not plan.case:
        return None
    return [DraftItem(id="K1", gap=True, text=marker.format(what="反面典型案例剖析"))]


def _mark_unwritten(draft: Draft, run: Run, out: Sections, plan: Plan, marker: str) -> None:
    """Replace the gaps of aspects, causes and measures not yet written by ``marker`` (not a 请补充 gap)."""
    problems = draft.part("problems")
    for item in problems.items:  # an aspect with facts not written yet (a real gap keeps its 请补充 text)
        if item.gap and item.aspect not in out.problems and plan.by_aspect.get(item.aspect):
            item.text = marker.format(what=f"{item.aspect}方面的问题")
    for kind, written in (("causes", out.causes), ("measures", out.measures)):
        part = draft.part(kind)
        if not written and part is not None:
            part.items = [DraftItem(id=f"{kind[0].upper()}1", gap=True,
                                    text=marker.format(what="原因分析" if kind == "causes" else "整改措施"))]


def show_progress(run: Run, out: Sections, plan: Plan) -> None:
    """Send the draft as written so far (``draft`` event): the parts from the facts at once, then each
    part as it is done; the rest as PENDING markers."""
    if run.on_event is None:
        return
    if run.first_text_at is None:
        run.first_text_at = time.perf_counter()
    run.emit("draft", out.draft(run, plan, PENDING))


def write_sections(run: Run, plan: Plan, out: Sections) -> None:
    """Problems, causes, measures and the case lesson, recorded in ``out`` as they are done."""
    show_progress(run, out, plan)
    for aspect in run.frame.aspects:
        requirements(run, aspect)
    out.step = "撰写问题"

    def aspect_done(name: str, items: list[Problem]) -> None:
        out.problems[name] = items
        show_progress(run, out, plan)

    out.problems = write_problems(run, plan, on_aspect=aspect_done)
    run.emit("part", "problems")
    flat = [p for a in run.frame.aspects for p in out.problems.get(a.name, [])]
    out.step = "剖析原因"
    out.causes = write_causes(run, flat)
    show_progress(run, out, plan)
    run.emit("part", "causes")
    out.step = "拟定整改措施"
    out.measures = write_measures(run, flat, unfinished_rectification(run, plan.rectification))
    run.emit("part", "measures")
    out.step = "剖析反面典型案例"
    out.case = case_items(run, plan.case, flat) if plan.case else None


def draft_from_facts(facts: UnitFacts, model: BaseChatModel, *, kb: Any = None, embedder: Any = None,
                     on_event: Event | None = None, profile: ModelProfile | None = None) -> Draft:
    """Draft the whole material from the facts. ``on_event(kind, payload)`` receives status / token /
    draft (the draft so far) / part / done.

    ``embedder`` places facts and picks worked examples (default: the bundled one). When a model call
    fails for good, :class:`DraftInterrupted` is raised carrying the partial draft (unwritten items as
    【未生成：…】 markers).
    """
    run = make_run(facts, model, kb=kb, embedder=embedder if embedder is not None else default_embedder(),
                   on_event=on_event, profile=profile)
    plan = plan_facts(facts, run.frame, run.embedder, choose=_chooser(run) if run.profile.tie_break else None)
    sections = Sections()
    try:
        write_sections(run, plan, sections)
    except LLMError as exc:
        partial = guard_draft(run, sections.draft(run, plan))
        _finish(run, partial, plan)
        partial.stats["interrupted_at"] = sections.step
        run.emit("status", f"起草在“{sections.step}”这一步中断，已保留已写好的部分")
        raise DraftInterrupted(exc, partial, sections.step) from exc
    draft = guard_draft(run, sections.draft(run, plan))
    review(run, draft)
    _finish(run, draft, plan)
    run.emit("done", draft)
    return draft


def _chooser(run: Run):
    """Tie-breaker for placement: the model picks A or B (large profile only)."""
    def choose(fact: Fact, a: Aspect, b: Aspect) -> Aspect | None:
        from rag.draft.prompting import render
        from rag.llm import complete

        answer = complete(run.model, render("aspect_choice", fact=fact.text, a=a.name, b=b.name), max_tokens=4,
                          stats=run.stats).strip().upper()
        return a if answer.startswith("A") else b if answer.startswith("B") else None
    return choose


def review(run: Run, draft: Draft) -> None:
    """The critic's counts on the finished draft (kept in ``draft.stats['critic']``)."""
    report = critique(to_markdown(draft), year=run.facts.year, meeting_type=run.facts.meeting_type,
                      frame=run.frame, known_text=run.known)
    draft.stats["critic"] = report.summary["levels"]


def _finish(run: Run, draft: Draft, plan: Plan) -> None:
    used = {fid for p in draft.parts for it in p.items for fid in it.fact_ids}
    draft.citations, draft.guard_events = run.citations, run.guard_events
    log = run.slots
    draft.stats.update({
        "seconds": round(time.perf_counter() - run.started, 2),
        "first_token_s": round(run.first_token, 2) if run.first_token is not None else None,
        "first_text_s": round(run.first_text_at - run.started, 2) if run.first_text_at is not None else None,
        "llm_calls": run.calls,
        "llm_retries": run.stats.retries,
        "tokens": run.tokens,
        "profile": run.profile.name,
        "fact_coverage": round(len(used) / max(1, len(run.facts.facts)), 3),
        "facts_unused": [f.id for f in run.facts.facts if f.id not in used],
        "gaps": len(draft.gaps),
        "guard_events": len(run.guard_events),
        "answers": {step: {"accepted": log.count(step, True), "rejected": log.count(step, False)}
                    for step in ("heading", "reason", "action", "lesson")},
        "refused": [{"step": a.step, "answer": a.answer[:80], "why": a.rejected} for a in log.attempts if a.rejected],
        "placement": [p.model_dump() for p in plan.placements],
    })


# ----------------------------------------------------------------------------------------- warm-up

def warm_up(model: BaseChatModel, meeting_type: str = "班子") -> bool:
    """Have the embedded model read the first step's instructions once, ahead of the first draft.

    llama.cpp keeps the evaluated tokens and reuses the longest common prefix on the next call, so the
    first drafting call then only reads its own examples and input. Other backends gain nothing: False.
    """
    if not isinstance(model, ChatLlamaCpp):
        return False
    msgs = slots.messages("heading", meeting_type, [], {"fact": "（预读）"})[:1]
    with llm_errors():
        model.invoke(msgs, max_tokens=1)
    return True


def first_messages(facts: UnitFacts, model: BaseChatModel, kb: Any = None, embedder: Any = None,
                   profile: ModelProfile | None = None) -> list[BaseMessage] | None:
    """The messages of the first model call :func:`draft_from_facts` makes for ``facts`` (the 定性 of
    the first placed fact, with its worked examples); None when the draft would start without a call."""
    embedder = embedder if embedder is not None else default_embedder()
    run = make_run(facts, model, kb=kb, embedder=embedder, profile=profile)
    plan = plan_facts(facts, run.frame, embedder)
    first = next((fid for a in run.frame.aspects for fid in plan.by_aspect.get(a.name, [])), None)
    fact = facts.fact(first) if first else None
    if fact is None:
        return None
    examples, _ = heading_examples()
    k = run.profile.shots
    if embedder is not None:
        picked = heading_nearest(embedder).pick(fact.text, fact.category, k=k, vector=embedder.embed_query(fact.text))
    else:
        from rag.draft.problems import _plain_nearest

        picked = _plain_nearest().pick(fact.text, fact.category, k=k)
    shots = [({"fact": examples[i].fact}, examples[i].heading) for i in picked]
    return slots.messages("heading", facts.meeting_type, shots, {"fact": instance_of(fact, facts.meeting_type)})


def read_ahead(facts: UnitFacts, model: BaseChatModel, kb: Any = None, embedder: Any = None) -> bool:
    """Have the embedded model read this draft's first prompt before the user starts the draft (e.g. while
    they look over the facts), so the draft's first call only has to write. Other backends: False."""
    if not isinstance(model, ChatLlamaCpp):
        return False
    msgs = first_messages(facts, model, kb, embedder)
    if msgs is None:
        return False
    with llm_errors():
        model.invoke(msgs, max_tokens=1)
    return True
