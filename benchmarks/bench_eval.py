"""Eval-runner benchmark: 100 drafting cases against a local fake OpenAI-compatible server that behaves
like a real one: latency drawn uniformly from 100–900 ms per call, 5 % of answers unusable (the drafter
asks again), 2 % of requests failing with a 5xx (retried with backoff).

The ideal time is what the model latency alone would cost at the given concurrency:
``ceil(cases / concurrency) × calls per case × mean latency`` (calls per case measured in the run, retries
included). The target: the run finishes within 1.2× the ideal. Prints figures; no assertions.

    .venv/bin/python benchmarks/bench_eval.py [--cases 100] [--concurrency 8] [--system pipeline]
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
import random, sys, threading, time
from rag.evals.scripted import draft_responder
from rag.llm.testing_server import FakeOpenAIServer
low, high, bad, fail = (float(x) for x in sys.argv[1:5])
rng, lock = random.Random(7), threading.Lock()
srv = None

def responder(messages):
    with lock:
        wait, unusable, error = rng.uniform(low, high), rng.random() < bad, rng.random() < fail
    time.sleep(wait)
    if error:
        srv.add_faults("503")  # the next request fails with a 5xx
    return "好的" if unusable else draft_responder(messages)

srv = FakeOpenAIServer(responder=responder).start()
print(srv.base_url, flush=True)
sys.stdin.read()
print(len(srv.requests), flush=True)
"""


def start_server(low: float, high: float, bad: float, fail: float) -> tuple[subprocess.Popen, str]:
    """The fake endpoint in its own process, as a remote server would be (it must not share our CPU)."""
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(low), str(high), str(bad), str(fail)], cwd=ROOT,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    return proc, proc.stdout.readline().strip()


def stop_server(proc: subprocess.Popen) -> int:
    """Close the server; returns how many chat requests it served."""
    out, _ = proc.communicate("", timeout=30)
    return int(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=100)
    ap.add_argument("--concurrency", type=int, default=8)
    ap.add_argument("--low", type=float, default=0.1)
    ap.add_argument("--high", type=float, default=0.9)
    ap.add_argument("--unusable", type=float, default=0.05)
    ap.add_argument("--errors", type=float, default=0.02)
    ap.add_argument("--system", default="pipeline", choices=["pipeline", "naive"])
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="zj-bench-eval-"))
    os.environ.update({"ZHAOJING_DATA_DIR": str(tmp / "data"), "ZHAOJING_LLM": "openai",
                       "ZHAOJING_LLM_RETRY_BASE": "0.2"})

    from langchain_openai import ChatOpenAI

    from rag.evals.runner import run_eval

    dataset = make_dataset(tmp, args.cases)
    proc, base_url = start_server(args.low, args.high, args.unusable, args.errors)
    model = ChatOpenAI(base_url=base_url, api_key="bench", model="fake", max_retries=0, timeout=30)
    t0, cpu0 = time.perf_counter(), time.process_time()
    result = run_eval(dataset, model=model, model_label="bench", systems=[args.system], concurrency=args.concurrency)
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    calls = stop_server(proc)
    per_case = calls / args.cases
    latency = (args.low + args.high) / 2
    ideal = math.ceil(args.cases / args.concurrency) * per_case * latency
    errors = sum(bool(r.get("error")) for r in result.records)
    print(f"cases {args.cases}, system {args.system}, concurrency {args.concurrency}, latency "
          f"{args.low * 1000:.0f}–{args.high * 1000:.0f} ms, unusable answers {args.unusable:.0%}, 5xx {args.errors:.0%}")
    print(f"model calls {calls} ({per_case:.1f} per case), case errors {errors}")
    print(f"client CPU {cpu:.1f} s ({cpu / args.cases * 1000:.0f} ms per case: drafting code, critic, metrics)")
    print(f"wall {wall:.1f} s, ideal {ideal:.1f} s, ratio {wall / ideal:.2f} (target <= 1.20)")


if __name__ == "__main__":
    main()
