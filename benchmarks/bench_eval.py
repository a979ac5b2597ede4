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
import subprocess
import sys
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


SERVER = """
import sys
from rag.evals.scripted import draft_responder
from rag.llm.testing_server import FakeOpenAIServer
from rag.llm import testing_server
testing_server._Handler.disable_nagle_algorithm = True  # as a production server would (no 40 ms delayed-ACK stalls)
srv = FakeOpenAIServer(latency=float(sys.argv[1]), responder=draft_responder).start()
print(srv.base_url, flush=True)
sys.stdin.read()
print(len(srv.requests), flush=True)
"""


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """The fake endpoint in its own process, as a remote server would be (it must not share our CPU)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(latency)], cwd=ROOT, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()


def stop_server(proc: subprocess.Popen) -> int:
    """Close the server; returns how many chat requests it served."""
    out, _ = proc.communicate("", timeout=30)
    return int(out.strip().splitlines()[-1])


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

    dataset = make_dataset(tmp, args.cases)
    proc, base_url = start_server(args.latency)
    model = ChatOpenAI(base_url=base_url, api_key="bench", model="fake", max_retries=0, timeout=30)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run_eval(dataset, model=model, model_label="bench", systems=[args.system], concurrency=args.concurrency)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    calls = stop_server(proc)
    per_case = calls / args.cases
    ideal = math.ceil(args.cases / args.concurrency) * per_case * args.latency
    errors = sum(bool(r.get("error")) for r in result.records)
    print(f"cases {args.cases}, system {args.system}, concurrency {args.concurrency}, latency {args.latency * 1000:.0f} ms")
    print(f"model calls {calls} ({per_case:.1f} per case), case errors {errors}")
    print(f"client CPU {cpu:.1f} s ({cpu / args.cases * 1000:.0f} ms per case: drafting code, critic, metrics)")
    print(f"wall {wall:.1f} s, ideal {ideal:.1f} s, ratio {wall / ideal:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
