"""The grounding mutation set: clean drafts, and the same drafts with invented statements inserted.

A case holds a facts file, a clean draft written only from those facts, and mutations (an exact substring
of the draft replaced by a text that holds one invented statement). Scores:

* caught: share of mutations whose invented words overlap a finding of the checker under test;
* false alarms: findings on the clean drafts (must be 0).

Two checkers are measured: the critic's grounding rule (what the drafter's guard uses) and the eval
metric's independent implementation (:mod:`rag.evals.grounding_metric`).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml

from rag.config import PROJECT_ROOT

Spans = Callable[[str, str, dict], list[tuple[int, int]]]
"""(draft text, known text, case) → flagged spans."""


def load_cases(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def mutated(case: dict) -> tuple[str, list[tuple[dict, int, int]]]:
    """The draft with every mutation applied, and each mutation's invented span in it."""
    text = case["text"]
    order = sorted(case["mutations"], key=lambda m: text.index(m["find"]))
    out, spans, pos, shift = [], [], 0, 0
    for m in order:
        i = text.index(m["find"])
        out.append(text[pos:i])
        start = i + shift + m["replace"].index(m["invented"])
        spans.append((m, start, start + len(m["invented"])))
        out.append(m["replace"])
        shift += len(m["replace"]) - len(m["find"])
        pos = i + len(m["find"])
    out.append(text[pos:])
    return "".join(out), spans


def known_text(case: dict) -> str:
    """What the draft may state: the facts, the frame's theme and aspects, the year."""
    from rag.draft.facts import load_facts
    from rag.draft.plan import resolve_frame

    facts = load_facts(PROJECT_ROOT / case["facts"])
    frame = resolve_frame(facts)
    return "\n".join([facts.known_text(), frame.theme, *(a.name for a in frame.aspects),
                      f"{facts.year}年度 {facts.year + 1}年"])


def critic_spans(text: str, known: str, case: dict) -> list[tuple[int, int]]:
    """Spans the critic's grounding rule flags."""
    from rag.critic.engine import critique

    report = critique(text, year=case.get("year"), meeting_type=case.get("meeting_type"), known_text=known)
    return [(f.start, f.end) for f in report.findings if f.rule == "grounding.unsupported"]


def evaluate(cases: list[dict], spans: Spans = critic_spans) -> dict:
    """Caught share (overall and per kind), false alarms on the clean drafts, and the misses."""
    caught, total, false_alarms = Counter(), Counter(), []
    misses = []
    for case in cases:
        known = known_text(case)
        for a, b in spans(case["text"], known, case):
            false_alarms.append({"case": case["id"], "quote": case["text"][a:b]})
        text, targets = mutated(case)
        found = spans(text, known, case)
        for m, a, b in targets:
            total[m["kind"]] += 1
            if any(x < b and a < y for x, y in found):
                caught[m["kind"]] += 1
            else:
                misses.append({"case": case["id"], "kind": m["kind"], "invented": m["invented"]})
    n = sum(total.values())
    return {
        "mutations": n,
        "caught": sum(caught.values()),
        "caught_share": round(sum(caught.values()) / n, 3) if n else None,
        "by_kind": {k: f"{caught[k]}/{total[k]}" for k in sorted(total)},
        "false_alarms": false_alarms,
        "misses": misses,
    }


def evaluate_metric(cases: list[dict]) -> dict:
    """The eval metric's own count (:mod:`rag.evals.grounding_metric`) on the same set: a mutation is
    caught when applying it alone raises the count; false alarms are tokens found on the clean drafts."""
    from rag.evals.grounding_metric import draft_unsupported

    caught, total, false_alarms, misses = Counter(), Counter(), [], []
    for case in cases:
        known = known_text(case)
        base = draft_unsupported(case["text"], known)
        false_alarms += [{"case": case["id"], "quote": t} for t in base]
        for m in case["mutations"]:
            total[m["kind"]] += 1
            one = case["text"].replace(m["find"], m["replace"], 1)
            if len(draft_unsupported(one, known)) > len(base):
                caught[m["kind"]] += 1
            else:
                misses.append({"case": case["id"], "kind": m["kind"], "invented": m["invented"]})
    n = sum(total.values())
    return {"mutations": n, "caught": sum(caught.values()),
            "caught_share": round(sum(caught.values()) / n, 3) if n else None,
            "by_kind": {k: f"{caught[k]}/{total[k]}" for k in sorted(total)},
            "false_alarms": false_alarms, "misses": misses}
