"""Compare two runs: which metrics moved, which cases regressed, and whether that is beyond tolerance.

A metric regresses when it moves in its worse direction by more than its tolerance (see
:data:`rag.evals.metrics.METRICS`; ``scale`` multiplies every tolerance, so ``--threshold 0`` is strict).
Used by ``zhaojing eval compare A B`` (exit status 1 on a regression) and by the CI gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rag.evals.metrics import METRICS
from rag.evals.runner import RunResult


@dataclass
class Change:
    """One metric of one system (and, for case changes, one case): before, after, and the verdict."""

    system: str
    metric: str
    before: float | None
    after: float | None
    case: str = ""

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 4)

    def worse_by(self) -> float:
        """How far the metric moved in its worse direction (0 when it improved or stayed)."""
        if self.delta is None:
            return 0.0
        return max(0.0, -self.delta * METRICS[self.metric].direction)


@dataclass
class Comparison:
    """All metric changes and the ones beyond tolerance."""

    changes: list[Change] = field(default_factory=list)
    regressions: list[Change] = field(default_factory=list)
    case_regressions: list[Change] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    gated_cases: list[Change] = field(default_factory=list)
    """Case regressions on gated metrics (they fail the gate too)."""
    families: list[Change] = field(default_factory=list)
    """Critic families whose recall dropped (fail the gate)."""

    @property
    def regressed(self) -> bool:
        return bool(self.regressions or self.missing or self.gated_cases or self.families)


def _tolerance(metric: str, scale: float) -> float:
    return METRICS[metric].tolerance * scale


def compare_runs(before: RunResult, after: RunResult, scale: float = 1.0,
                 systems: list[str] | None = None, metrics: list[str] | None = None) -> Comparison:
    """Compare the summaries (gate) and the per-case metrics (report) of two runs.

    ``systems`` limits the comparison (e.g. gate the pipeline and the critic, not the naive baseline);
    ``metrics`` limits which metrics can count as a regression (all are still listed as changes).
    """
    out = Comparison()
    sys_a, sys_b = before.summary.get("systems", {}), after.summary.get("systems", {})
    for system, a in sys_a.items():
        if systems and system not in systems:
            continue
        b = sys_b.get(system)
        if b is None:
            out.missing.append(system)
            continue
        for metric, va in a["metrics"].items():
            if metric not in METRICS:
                continue
            ch = Change(system, metric, va, b["metrics"].get(metric))
            out.changes.append(ch)
            if (not metrics or metric in metrics) and _worse(ch, scale):
                out.regressions.append(ch)
    keep = lambda rs: [r for r in rs if not systems or r["system"] in systems]  # noqa: E731
    out.case_regressions = _case_regressions(keep(before.records), keep(after.records), scale)
    if metrics:
        out.gated_cases = [c for c in out.case_regressions if c.metric in metrics]
    out.families = _family_regressions(before.summary.get("critic"), after.summary.get("critic"))
    return out


def _worse(ch: Change, scale: float) -> bool:
    """Beyond tolerance in the worse direction, or a figure that was there and is now missing."""
    if ch.before is not None and ch.after is None:
        return True
    return ch.worse_by() > _tolerance(ch.metric, scale) + 1e-9


def _family_regressions(before: dict | None, after: dict | None) -> list[Change]:
    """Critic families whose recall fell (the critic is deterministic: any drop is a change of behaviour)."""
    if not before or not after:
        return []
    out = []
    for fam, a in (before.get("families") or {}).items():
        b = (after.get("families") or {}).get(fam) or {}
        ra, rb = a.get("recall"), b.get("recall")
        if ra is not None and (rb is None or rb < ra - 1e-9):
            out.append(Change("critic", f"critic.recall[{fam}]", ra, rb))
    return out


def _case_regressions(before: list[dict], after: list[dict], scale: float) -> list[Change]:
    index = {(r["case"], r["system"]): r.get("metrics") or {} for r in before}
    found = []
    for r in after:
        old = index.get((r["case"], r["system"]))
        if old is None:
            continue
        for metric, va in old.items():
            if metric not in METRICS or METRICS[metric].group == "开销":
                continue
            ch = Change(r["system"], metric, va, (r.get("metrics") or {}).get(metric), case=r["case"])
            if _worse(ch, scale):
                found.append(ch)
    return found


def describe(cmp: Comparison) -> list[str]:
    """Chinese lines for the terminal: moved metrics, regressions and regressed cases."""
    lines = []
    moved = [c for c in cmp.changes if c.delta]
    for c in moved:
        meta = METRICS[c.metric]
        better = (c.delta or 0) * meta.direction > 0
        lines.append(f"{'↑' if better else '↓'} [{c.system}] {meta.label}（{c.metric}）：{c.before} → {c.after}"
                     f"（{'变好' if better else '变差'}）")
    if not moved:
        lines.append("各项指标均无变化。")
    for c in cmp.regressions:
        lines.append(f"✗ 退步超出容差：[{c.system}] {METRICS[c.metric].label} {c.before} → {c.after}"
                     f"（容差 {METRICS[c.metric].tolerance}）")
    cases = sorted({(c.case, c.system) for c in cmp.case_regressions})
    if cases:
        lines.append("退步的用例：" + "、".join(f"{case}（{sys}）" for case, sys in cases))
    for s in cmp.missing:
        lines.append(f"注意：新运行中没有 {s} 的结果")
    for c in cmp.gated_cases:
        lines.append(f"✗ 用例退步超出容差：{c.case}（{c.system}）{METRICS[c.metric].label} {c.before} → {c.after}")
    for c in cmp.families:
        lines.append(f"✗ 规则族召回率下降：{c.metric} {c.before} → {c.after}")
    return lines


def as_dict(cmp: Comparison) -> dict[str, Any]:
    """JSON-friendly form (for the UI)."""
    row = lambda c: {"system": c.system, "metric": c.metric, "label": METRICS[c.metric].label,  # noqa: E731
                     "before": c.before, "after": c.after, "delta": c.delta, "case": c.case}
    return {"regressed": cmp.regressed, "changes": [row(c) for c in cmp.changes],
            "regressions": [row(c) for c in cmp.regressions], "case_regressions": [row(c) for c in cmp.case_regressions]}
