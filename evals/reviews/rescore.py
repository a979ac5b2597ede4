"""Re-score a finished drafting run's texts with the current metrics, and print pipeline vs naive means.

    .venv/bin/python evals/reviews/rescore.py RUN_ID DATASET [--json OUT]

Generation is not repeated: the drafts stored in the run are measured again (useful after a metric fix).
"""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from rag.evals.datasets import load_dataset
    from rag.evals.metrics import METRICS, draft_metrics
    from rag.evals.runner import _inputs, runs_dir

    run_id, dataset = sys.argv[1], sys.argv[2]
    cases = {c["id"]: c for c in load_dataset(dataset).cases}
    rows = [json.loads(line) for line in (runs_dir() / run_id / "cases.jsonl").read_text(encoding="utf-8").splitlines()]
    out: dict[str, dict[str, list]] = {}
    per_case = []
    for r in rows:
        if not r.get("text"):
            continue
        m, d = draft_metrics(r["text"], _inputs(cases[r["case"]], r, None, None))
        m["cost.seconds"] = (r.get("stats") or {}).get("seconds")
        m["cost.llm_calls"] = (r.get("stats") or {}).get("llm_calls")
        per_case.append({"case": r["case"], "system": r["system"], "metrics": m, "review": d.get("review"),
                         "unsupported": d.get("unsupported")})
        for k, v in m.items():
            if v is not None:
                out.setdefault(r["system"], {}).setdefault(k, []).append(v)
    keys = [k for k in METRICS if any(k in v for v in out.values())]
    print(f"{'metric':34s}" + "".join(f"{s:>12s}" for s in out))
    for k in keys:
        vals = [statistics.fmean(out[s][k]) if out[s].get(k) else None for s in out]
        print(f"{k:34s}" + "".join(f"{v:12.3f}" if v is not None else f"{'—':>12s}" for v in vals))
    if "--json" in sys.argv:
        Path(sys.argv[sys.argv.index("--json") + 1]).write_text(
            json.dumps({"run": run_id, "cases": per_case}, ensure_ascii=False, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
