"""Critic benchmark: a ~10,000-字 draft, all rules, similarity against a 10k-chunk reference index.

Two reference indexes are measured:

* **real-style**: 10,000 paragraphs recombined from whole sentences of the exemplars, past materials and
  labelled drafts, so they share the stock phrasing real knowledge bases share and near-duplicate
  verification actually runs (the honest figure);
* **shuffled**: the old index of paragraphs with their characters shuffled (candidates almost never pass
  the LSH stage, so it flatters the latency), kept for comparison.

Prints p50/p95/min wall latency and p50 CPU time per draft (one character changed per run, as when the
critic re-runs on a keystroke) and batch throughput (drafts per second). No assertions: figures only.
The machine is a shared VM whose speed varies by up to ~1.5x between runs; run it two or three times.
"""

from __future__ import annotations

import multiprocessing
import os
import random
import re
import statistics
import time
from pathlib import Path

import yaml

from rag.critic.api import quote_checker
from rag.critic.engine import critique
from rag.critic.similarity import ShingleIndex, clean

ROOT = Path(__file__).resolve().parent.parent
RUNS = 50


def typed(draft: str, rng: random.Random, i: int) -> str:
    """The draft with one character inserted at a random place (what a keystroke does)."""
    at = rng.randrange(len(draft))
    return draft[:at] + "的一是在了有和人这中大为上个"[i % 14] + draft[at:]


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
    sentences = [s for c in cases for s in re.split(r"(?<=[。；])", c["text"]) if len(clean(s)) >= 8]
    sentences += [s for p in corpus_paras for s in re.split(r"(?<=[。；])", p) if len(clean(s)) >= 8]
    for label, make in (("real-style", lambda rng: _real_style(rng, sentences)),
                        ("shuffled", lambda rng: _shuffled(rng, corpus_paras))):
        _measure(label, draft, cases, make)


def _real_style(rng: random.Random, sentences: list[str]) -> str:
    """A paragraph of 3–6 whole sentences from real-style materials (stock phrasing kept)."""
    return "".join(rng.choice(sentences) for _ in range(rng.randint(3, 6)))


def _shuffled(rng: random.Random, paras: list[str]) -> str:
    words = list(rng.choice(paras))
    rng.shuffle(words)
    return "".join(words)


def _measure(label: str, draft: str, cases: list[dict], make) -> None:
    rng = random.Random(1)
    t0 = time.perf_counter()
    index = ShingleIndex(threshold=0.3)
    joined, entries = [], []
    for i in range(10_000):
        text = make(rng)
        entries.append((f"syn#{i}", text, {"kind": "exemplar", "title": f"合成{i}"}))
        joined.append(clean(text))
    index.add_many(entries)
    build = time.perf_counter() - t0
    quotes = quote_checker("\n".join(joined))
    t = time.perf_counter()
    critique(draft, corpus=index, quote_sources=quotes)
    cold = (time.perf_counter() - t) * 1000
    times, cpu = [], []
    for i in range(RUNS):
        text = typed(draft, rng, i)  # a keystroke's change each run, so nothing is reused across calls
        t, c = time.perf_counter(), time.process_time()
        critique(text, corpus=index, quote_sources=quotes)
        times.append((time.perf_counter() - t) * 1000)
        cpu.append((time.process_time() - c) * 1000)
    times.sort()
    matched = sum(f.rule.startswith("duplicate") for f in critique(draft, corpus=index, quote_sources=quotes).findings)
    print(f"== {label} index ==")
    print(f"draft: {len(clean(draft))} 字, reference index: {len(index)} chunks (built in {build:.1f} s, one-time); "
          f"similarity findings on the draft: {matched}")
    print(f"first call (loads rules, lexicons, frames) {cold:.1f} ms")
    print(f"latency p50 {statistics.median(times):.1f} ms, p95 {times[int(len(times) * 0.95) - 1]:.1f} ms, "
          f"min {times[0]:.1f} ms; CPU time p50 {statistics.median(cpu):.1f} ms "
          f"({len(times)} runs, one character changed per run; load average {os.getloadavg()[0]:.2f} "
          f"on {os.cpu_count()} cores)")
    texts = [c["text"] for c in cases] * 3
    t = time.perf_counter()
    for text in texts:
        critique(text, corpus=index, quote_sources=quotes)
    one = len(texts) / (time.perf_counter() - t)
    global _WORKER
    _WORKER = (index, quotes)  # inherited by the forked workers: the index is built once
    workers = os.cpu_count() or 1
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        pool.map(_critique_one, texts[:workers])  # warm up each worker (rules, lexicons)
        t = time.perf_counter()
        pool.map(_critique_one, texts, chunksize=4)
        many = len(texts) / (time.perf_counter() - t)
    print(f"batch throughput: {one:.1f} drafts/s in 1 process, {many:.1f} drafts/s in {workers} processes "
          f"({len(texts)} dev-set drafts, similarity included)")


_WORKER: tuple = ()


def _critique_one(text: str) -> int:
    index, quotes = _WORKER
    return len(critique(text, corpus=index, quote_sources=quotes).findings)

if __name__ == "__main__":
    main()
