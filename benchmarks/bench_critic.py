"""Critic benchmark: a ~10,000-字 draft, all rules, similarity against a 10k-chunk reference index.

Prints p50/p95 latency per draft and batch throughput (drafts per second). No assertions: figures only.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from pathlib import Path

import yaml

from rag.critic.api import quote_checker
from rag.critic.engine import critique
from rag.critic.similarity import ShingleIndex, clean

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    cases = yaml.safe_load((ROOT / "evals/datasets/critique_dev.yaml").read_text(encoding="utf-8"))
    full = [c for c in cases if not c.get("excerpt")]
    draft = ""
    for c in full:
        if len(clean(draft)) >= 10_000:
            break
        draft += c["text"] + "\n"
    corpus_paras = [p for f in (ROOT / "knowledge_base/corpus").rglob("*.md")
                    for p in f.read_text(encoding="utf-8").split("\n") if len(clean(p)) >= 40]
    rng = random.Random(1)
    t0 = time.perf_counter()
    index = ShingleIndex(threshold=0.3)
    joined = []
    for i in range(10_000):
        words = list(rng.choice(corpus_paras))
        rng.shuffle(words)
        text = "".join(words)
        index.add(f"syn#{i}", text, {"kind": "exemplar", "title": f"合成{i}"})
        joined.append(clean(text))
    build = time.perf_counter() - t0
    quotes = quote_checker("\n".join(joined))
    t = time.perf_counter()
    critique(draft, corpus=index, quote_sources=quotes)
    cold = (time.perf_counter() - t) * 1000
    times = []
    for _ in range(30):
        t = time.perf_counter()
        critique(draft, corpus=index, quote_sources=quotes)
        times.append((time.perf_counter() - t) * 1000)
    times.sort()
    print(f"draft: {len(clean(draft))} 字, reference index: {len(index)} chunks (built in {build:.1f} s, one-time)")
    print(f"first call (loads rules, lexicons, frames) {cold:.1f} ms")
    print(f"latency p50 {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms "
          f"({len(times)} runs; load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores)")
    texts = [c["text"] for c in cases]
    t = time.perf_counter()
    for text in texts * 3:
        critique(text, corpus=index, quote_sources=quotes)
    dt = time.perf_counter() - t
    print(f"batch throughput: {len(texts) * 3 / dt:.1f} drafts/s (dev-set drafts, 1 process)")


if __name__ == "__main__":
    main()
