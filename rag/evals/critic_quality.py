"""Critic quality against labelled cases: precision, recall and F1 per rule family, with misses and false alarms.

A finding is correct when an expected entry of the same family exists whose quote overlaps the finding's span
(an entry without a quote is document-level and matches any finding of its family). Families that the
labelling guide does not cover (duplicate, quote, grounding, linkage, judge) are reported but not scored.
For excerpts, structure and proportion findings are ignored, as the labelling guide says.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

UNSCORED = {"duplicate", "quote", "grounding", "linkage", "judge"}
EXCERPT_IGNORED = {"structure", "proportion"}


@dataclass
class CaseResult:
    """Per-case matching outcome."""

    id: str
    tp: list[dict] = field(default_factory=list)
    fp: list[dict] = field(default_factory=list)
    fn: list[dict] = field(default_factory=list)
    found: list[dict] = field(default_factory=list)
    unscored: list[dict] = field(default_factory=list)


def _spans(text: str, quote: str) -> list[tuple[int, int]]:
    out, i = [], text.find(quote)
    while quote and i != -1:
        out.append((i, i + len(quote)))
        i = text.find(quote, i + 1)
    return out


def _overlaps(finding: dict, spans: list[tuple[int, int]]) -> bool:
    return any(finding["start"] < b and a < finding["end"] for a, b in spans)


def scored_families(dataset: str | Path) -> set[str] | None:
    """The rule families a dataset's labels cover (``evals/datasets/families.yaml``); None: all of them."""
    import yaml

    from rag.config import EVALS_DIR

    table = yaml.safe_load((EVALS_DIR / "datasets" / "families.yaml").read_text(encoding="utf-8")) or {}
    fams = table.get(Path(dataset).stem)
    return set(fams) if fams else None


def match_case(case: dict, findings: list[dict], scored: set[str] | None = None) -> CaseResult:
    """Match one case's findings (dicts with rule/start/end/quote) against its expected labels; findings of
    families outside ``scored`` (families the labels predate) are reported but not scored."""
    res = CaseResult(case["id"])
    text = case["text"]
    expected = [dict(e, _spans=_spans(text, e.get("quote") or "")) for e in case.get("expected") or []]
    hit = [False] * len(expected)
    for f in findings:
        fam = f["rule"].split(".", 1)[0]
        if fam in UNSCORED or (case.get("excerpt") and fam in EXCERPT_IGNORED) or (scored is not None and fam not in scored):
            res.unscored.append(f)
            continue
        matching = [i for i, e in enumerate(expected)
                    if e["family"] == fam and (not e.get("quote") or _overlaps(f, e["_spans"]))]
        fresh = [i for i in matching if not hit[i]]
        if fresh:  # one true positive per label: the first finding that matches it
            hit[fresh[0]] = True
            res.tp.append(f)
        elif matching:  # another finding on a label already found: a duplicate, neither right nor wrong
            res.unscored.append(f)
        else:
            res.fp.append(f)
    clean = [{k: v for k, v in e.items() if k != "_spans"} for e in expected]
    res.fn = [e for e, h in zip(clean, hit, strict=True) if not h]
    res.found = [e for e, h in zip(clean, hit, strict=True) if h]
    return res


def summarise(results: list[CaseResult], cases: list[dict]) -> dict:
    """Precision, recall and F1 per family and overall (finding-level precision, label-level recall)."""
    fam = defaultdict(lambda: {"tp": 0, "fp": 0, "labels": 0, "found": 0})
    for case in cases:
        for e in case.get("expected") or []:
            fam[e["family"]]["labels"] += 1
    for r in results:
        for f in r.tp:
            fam[f["rule"].split(".", 1)[0]]["tp"] += 1
        for f in r.fp:
            fam[f["rule"].split(".", 1)[0]]["fp"] += 1
    for r in results:
        for e in r.found:
            fam[e["family"]]["found"] += 1
    table = {}
    for name, c in sorted(fam.items()):
        p = c["tp"] / (c["tp"] + c["fp"]) if c["tp"] + c["fp"] else None
        rec = c["found"] / c["labels"] if c["labels"] else None
        f1 = 2 * p * rec / (p + rec) if p and rec else None
        table[name] = {**c, "precision": p, "recall": rec, "f1": f1}
    tp = sum(c["tp"] for c in fam.values())
    fp = sum(c["fp"] for c in fam.values())
    labels = sum(c["labels"] for c in fam.values())
    found = sum(c["found"] for c in fam.values())
    p = tp / (tp + fp) if tp + fp else 0.0
    rec = found / labels if labels else 0.0
    overall = {"tp": tp, "fp": fp, "labels": labels, "found": found, "precision": p, "recall": rec,
               "f1": 2 * p * rec / (p + rec) if p + rec else 0.0}
    return {"families": table, "overall": overall}


def evaluate_dataset(path, progress=None) -> tuple[dict, list[CaseResult]]:
    """Run the critic (without the knowledge base) over a labelled YAML dataset and score it."""
    import yaml

    from rag.critic.engine import critique

    with open(path, encoding="utf-8") as fh:
        cases = yaml.safe_load(fh)
    results = []
    scored = scored_families(path)
    for i, case in enumerate(cases):
        report = critique(case["text"], year=case.get("year"), meeting_type=case.get("meeting_type"))
        results.append(match_case(case, [f.model_dump() for f in report.findings], scored))
        if progress:
            progress(i + 1, len(cases))
    return summarise(results, cases), results
