"""Checks on a finished draft, independent of the drafting guard (used by the benchmark and tests).

* :func:`unsupported_tokens` – numbers, dates, names, bodies and quoted titles that appear nowhere in the
  facts or the cited sources, recomputed on the final text by the eval's own implementation.
* :func:`critic_errors` – the critic's error-level findings, split into those on our own markers
  (【请补充…】, 【未生成…】, 【待核实】) and the rest.
"""

from __future__ import annotations

import re

from rag.critic.engine import critique
from rag.draft.facts import UnitFacts
from rag.draft.render import to_markdown
from rag.draft.schemas import Draft

MARKER = re.compile(r"【[^】]*】")


def known_text(draft: Draft, facts: UnitFacts) -> str:
    """Everything the draft may state as fact: the facts (text, sources), the citations, the year and frame."""
    cited = "\n".join(c.text for c in draft.citations)
    from rag.draft.pipeline import known_text as run_known
    from rag.draft.plan import resolve_frame

    return "\n".join([run_known(facts, resolve_frame(facts)), cited])


def unsupported_tokens(draft: Draft, facts: UnitFacts) -> list[str]:
    """Numbers, dates, names, bodies and quoted titles the facts and sources don't hold, counted on the
    final text by the eval's own implementation (:mod:`rag.evals.grounding_metric`), not the guard's."""
    from rag.evals.grounding_metric import draft_unsupported

    return draft_unsupported(to_markdown(draft), known_text(draft, facts))


def critic_errors(draft: Draft, facts: UnitFacts) -> tuple[list[str], list[str]]:
    """(errors on our own markers, other errors) as “rule: quote” strings, from a fresh critique."""
    text, spans = to_markdown(draft, with_spans=True)
    from rag.draft.plan import resolve_frame

    report = critique(text, year=facts.year, meeting_type=facts.meeting_type, frame=resolve_frame(facts),
                      known_text=known_text(draft, facts))
    gap_spans = [spans[it.id] for it in draft.gaps if it.id in spans]
    ours, other = [], []
    for finding in report.findings:
        if finding.level != "error":
            continue
        label = f"{finding.rule}: {finding.quote[:40]}"
        on_gap = any(a <= finding.start < b for a, b in gap_spans)
        (ours if on_gap or MARKER.fullmatch(finding.quote.strip() or "x") else other).append(label)
    return ours, other


def critic_levels(draft: Draft, facts: UnitFacts) -> dict[str, int]:
    """Count of the critic's findings per level on the draft as rendered."""
    from rag.draft.plan import resolve_frame

    report = critique(to_markdown(draft), year=facts.year, meeting_type=facts.meeting_type,
                      frame=resolve_frame(facts), known_text=known_text(draft, facts))
    return dict(report.summary["levels"])
