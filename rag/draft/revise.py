"""Revisions the user asks for: one item (free-text instruction), a whole part, or a chat instruction.

Every revision returns a new Draft (the given one is untouched, also when a call fails) and goes through
the same guard as the first draft.
"""

from __future__ import annotations

import re
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag.draft import prompting
from rag.draft.facts import UnitFacts
from rag.draft.injection import screen_slots
from rag.draft.items import Cause, Problem
from rag.draft.schemas import Draft, DraftItem, ItemRewrite
from rag.draft.text import clause, sentence
from rag.errors import InputError
from rag.llm import structured_call

ORDINAL = re.compile(r"第\s*([一二三四五六七八九十\d]+)\s*(?:个|条|项)?\s*(问题|原因|措施)?")
PART_OF = {"问题": "problems", "原因": "causes", "措施": "measures"}
PARTS_TO_REWRITE = {"problems": "存在的问题", "causes": "原因分析", "measures": "整改措施"}


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
                on_event: Any = None) -> Draft:
    """Rewrite one item following the user's instruction, under the same guard. Returns a new Draft."""
    from rag.draft.pipeline import guard_text, make_run

    new = draft.model_copy(deep=True)
    item = new.item(item_id)
    if item is None:
        raise InputError(f"找不到要修改的条目 {item_id}", "请先选择一条问题、原因或措施")
    run = make_run(facts, model, on_event=on_event)
    run.known += "\n" + "\n".join(c.text for c in draft.citations)
    ids = item.fact_ids or [fid for p in new.parts for it in p.items if it.id in item.problem_ids for fid in it.fact_ids]
    ref = [f for f in facts.facts if f.id in ids] or facts.facts[:6]
    label = next(p.title for p in new.parts if item in p.items)
    msgs = prompting.messages("revise", meeting_type=facts.meeting_type, part_label=label, text=item.text,
                              facts=[{"id": f.id, "text": f.text, "source": f.source} for f in ref],
                              instruction=instruction)
    out = screen_slots(structured_call(model, msgs, ItemRewrite, max_tokens=400, stats=run.stats), msgs, run.known)
    kind = next(p.kind for p in new.parts if item in p.items)
    item.text = guard_text(run, item.id, sentence(out.text), statements_only=kind == "measures")
    item.gap = False
    new.guard_events = [*draft.guard_events, *run.guard_events]
    return new


def apply_instruction(draft: Draft, instruction: str, facts: UnitFacts, model: BaseChatModel,
                      on_event: Any = None) -> Draft:
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


def problems_of(draft: Draft) -> list[Problem]:
    """The typed problems behind a draft's problem items (定性 and 事例 split again)."""
    out = []
    for it in draft.part("problems").items if draft.part("problems") else []:
        if it.gap:
            continue
        heading = it.heading or it.summary or clause(it.text.split("。")[0])
        rest = it.text[len(clause(heading)) + 1:] if it.text.startswith(clause(heading)) else it.text
        out.append(Problem(id=it.id, aspect=it.aspect or "", heading=heading, instance=rest.strip() or it.text,
                           fact_ids=list(it.fact_ids), root=it.root))
    return out


def regenerate_part(draft: Draft, kind: str, facts: UnitFacts, model: BaseChatModel, instruction: str | None = None,
                    *, kb: Any = None, on_event: Any = None, embedder: Any = None) -> Draft:
    """Write one part again; returns a new Draft (the given one is untouched, also when a call fails).

    原因 or 措施: that part only, from the draft's current problems, following the optional instruction.
    问题: problems, causes, measures and the case lesson are drafted again from the facts (causes and
    measures rest on the problems); the opening and the parts taken from the facts stay.
    """
    from rag.draft.assemble import cause_items, measure_items
    from rag.draft.causes import write_causes
    from rag.draft.measures import unfinished_rectification, write_measures
    from rag.draft.pipeline import default_embedder, draft_from_facts, guard_draft, make_run
    from rag.draft.plan import plan_facts

    if kind not in PARTS_TO_REWRITE:
        raise InputError(f"不能重写“{kind}”部分", "可以重写：" + "、".join(PARTS_TO_REWRITE.values()))
    instruction = instruction.strip() if instruction and instruction.strip() else None
    new = draft.model_copy(deep=True)
    if kind == "problems":
        fresh = draft_from_facts(facts, model, kb=kb, embedder=embedder, on_event=on_event)
        for part_kind in ("problems", "case", "causes", "measures"):
            if new.part(part_kind) is not None and fresh.part(part_kind) is not None:
                new.part(part_kind).items = fresh.part(part_kind).items
        new.citations = [*draft.citations, *(c for c in fresh.citations if c not in draft.citations)]
        new.guard_events = [*draft.guard_events, *fresh.guard_events]
        return new
    run = make_run(facts, model, kb=kb, embedder=embedder if embedder is not None else default_embedder(),
                   on_event=on_event)
    run.instruction = instruction or "换一种写法，写得更具体"
    run.known += "\n" + "\n".join(c.text for c in draft.citations)
    problems = problems_of(new)
    if kind == "causes":
        new.part("causes").items = cause_items(write_causes(run, problems), problems)
    else:
        plan = plan_facts(facts, run.frame, None)
        measures = write_measures(run, problems, unfinished_rectification(run, plan.rectification))
        new.part("measures").items = measure_items(run, measures)
    guard_draft(run, new)
    new.guard_events = [*draft.guard_events, *run.guard_events]
    return new


def waiting_causes(draft: Draft) -> list[DraftItem]:
    """Causes waiting for the user's choice: a gap with candidates, or the root's generic sentence (written
    when the model gave no acceptable reason) with the bank's nearest reasons as alternatives."""
    from rag.draft.assemble import GENERIC_REASON

    part = draft.part("causes")
    return [it for it in part.items if it.candidates and (it.gap or GENERIC_REASON in it.to_confirm)] if part else []


def choose_cause(draft: Draft, item_id: str, pick: int | str | None) -> Draft:
    """The draft with a cause's candidate chosen (1-based) or the user's own reason; None/0 keeps the gap."""
    from rag.draft.assemble import cause_items
    from rag.draft.causes import choose_candidate

    new = draft.model_copy(deep=True)
    part = new.part("causes")
    item = new.item(item_id)
    if part is None or item is None or item not in part.items:
        raise InputError(f"找不到原因条目 {item_id}", "请从原因分析中选择一条")
    cause = Cause(id=item.id, root=item.root, title=item.heading or clause(item.text.split("。")[0]),
                  problem_ids=item.problem_ids, candidates=item.candidates)
    chosen = choose_candidate(cause, pick)
    if not chosen.reason:
        return new
    rendered = cause_items([chosen], problems_of(new))[0]
    rendered.candidates = []
    part.items[part.items.index(item)] = rendered
    return new
