"""Eval-runner benchmark: 100 drafting cases against a local fake OpenAI-compatible server, 300 ms per call.

The ideal time is what the model latency alone would cost at the given concurrency:
``ceil(cases / concurrency) × calls per case × latency`` (calls per case measured in the run). The issue's
target: the run finishes within 1.2× the ideal. Prints figures; no assertions.

    .venv/bin/python benchmarks/bench_eval.py [--cases 100] [--concurrency 8] [--latency 0.3] [--system pipeline]
"""

from __future__ import annotations

import argparse
import math
import os
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def make_dataset(folder: Path, n: int) -> Path:
    """``n`` cases cycling over the shipped drafting cases (distinct ids, so nothing is cached)."""
    base = yaml.safe_load((ROOT / "evals/datasets/drafting.yaml").read_text(encoding="utf-8"))["cases"]
    cases = [{**base[i % len(base)], "id": f"bench-{i:03d}"} for i in range(n)]
    path = folder / "bench.yaml"
    path.write_text(yaml.safe_dump({"version": 1, "cases": cases}, allow_unicode=True), encoding="utf-8")
    return path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--latency", type=float, default=0.3)
    ap.add_argument("--system", default="pipeline", choices=["pipeline", "naive"])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zj-bench-eval-"))
    os.environ.update({"ZHAOJING_DATA_DIR": str(tmp / "data"), "ZHAOJING_LLM": "openai"})

    from langchain_openai import ChatOpenAI

    from rag.evals.runner import run_eval
    from rag.evals.scripted import draft_responder
    from rag.llm.testing_server import FakeOpenAIServer

    dataset = make_dataset(tmp, args.cases)
    with FakeOpenAIServer(latency=args.latency, responder=draft_responder) as srv:
        model = ChatOpenAI(base_url=srv.base_url, api_key="bench", model="fake", max_retries=0, timeout=30)
        t0 = time.perf_counter()
        result = run_eval(dataset, model=model, model_label="bench", systems=[args.system],
                          concurrency=args.concurrency)
        wall = time.perf_counter() - t0
        calls = len(srv.requests)
    per_case = calls / args.cases
    ideal = math.ceil(args.cases / args.concurrency) * per_case * args.latency
    errors = sum(bool(r.get("error")) for r in result.records)
    print(f"cases {args.cases}, system {args.system}, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms")
    print(f"model calls {calls} ({per_case:.1f} per case), case errors {errors}")
    print(f"wall {wall:.1f} s, ideal {ideal:.1f} s, ratio {wall / ideal:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
