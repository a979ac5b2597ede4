"""Checks on a finished draft, independent of the drafting guard (used by the benchmark and tests).

* :func:`unsupported_tokens` – numbers (with their unit) and quoted names in 问题/原因 that appear
  nowhere in the facts or the cited sources, recomputed on the final text with a regex of its own.
* :func:`critic_errors` – the critic's error-level findings, split into those on our own markers
  (【请补充…】, 【未生成…】, 【待核实】) and the rest.
"""

from __future__ import annotations

import re

from rag.critic.engine import critique
from rag.draft.facts import UnitFacts
from rag.draft.render import to_markdown
from rag.draft.schemas import Draft

NUMBER = re.compile(r"\d+(?:\.\d+)?")
QUOTED = re.compile(r"“([^”]{2,20})”")
MARKER = re.compile(r"【[^】]*】")
CHECKED_PARTS = ("problems", "causes")


def known_text(draft: Draft, facts: UnitFacts) -> str:
    """Everything the draft may state as fact: the facts (text, sources), the citations, the year and frame."""
    cited = "\n".join(c.text for c in draft.citations)
    return "\n".join([facts.known_text(), cited, f"{facts.year}年度 {draft.frame_name}"])


def unsupported_tokens(draft: Draft, facts: UnitFacts) -> list[str]:
    """Numbers and quoted names in 问题/原因 that the facts and sources do not contain (gaps skipped)."""
    known = re.sub(r"\s", "", known_text(draft, facts))
    known_numbers = set(NUMBER.findall(known))
    out: list[str] = []
    for kind in CHECKED_PARTS:
        part = draft.part(kind)
        for item in part.items if part else []:
            if item.gap:
                continue
            text = MARKER.sub("", item.text)
            out += [n for n in NUMBER.findall(text) if n not in known_numbers]
            out += [q for q in QUOTED.findall(text) if re.sub(r"\s", "", q) not in known]
    return out


def critic_errors(draft: Draft, facts: UnitFacts) -> tuple[list[str], list[str]]:
    """(errors on our own markers, other errors) as “rule: quote” strings, from a fresh critique."""
    text, spans = to_markdown(draft, with_spans=True)
    report = critique(text, year=facts.year, meeting_type=facts.meeting_type, frame_id=draft.frame_id,
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
    report = critique(to_markdown(draft), year=facts.year, meeting_type=facts.meeting_type,
                      frame_id=draft.frame_id, known_text=known_text(draft, facts))
    return dict(report.summary["levels"])
