"""KnowledgeBase with the FakeEmbedder: idempotent ingest, updates, deletes, filters, RRF, citations."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from rag.config import get_settings
from rag.embed import FakeEmbedder
from rag.errors import InputError
from rag.kb import cli as kb_cli
from rag.kb import store as store_mod
from rag.kb.loaders import load_document
from rag.kb.store import KnowledgeBase, reciprocal_rank_fusion

POLICY = """---
title: 中央八项规定实施细则（摘要）
kind: policy
year: 2012
meeting_type: 通用
doc_name: 《中共中央政治局贯彻落实中央八项规定实施细则》
---

# 中央八项规定实施细则（摘要）

## 一、改进调查研究

到基层调研要轻车简从，不搞层层陪同，不准搞迎送仪式，不准安排宴请。

## 二、精简会议活动

严格控制会议数量和规模，提倡开短会、讲短话，力戒空话套话。
"""

EXEMPLAR = """---
title: 某镇领导班子2024年度民主生活会对照检查材料
kind: exemplar
year: 2024
meeting_type: 班子
---

一、存在的问题

（一）在理论学习上带头方面

一是学用脱节。班子全年集中学习12次，但高标准农田建设中出现非粮化问题，说明学习没有转化为工作成效。

二、整改措施

2025年3月底前完成高标准农田非粮化排查，建立问题地块清单，牵头领导：镇长。
"""

PAST = "某局2023年度组织生活会对照检查材料\n一、存在的问题\n支部三会一课记录不全，主题党日开展次数偏少，全年只开展了7次。"

CASE = """---
title: 违规吃喝案例剖析
year: 2025
meeting_type: 通用
---

## 一、基本案情

某局副局长接受企业老板在内部食堂宴请，将费用拆分成会议费报销，违反中央八项规定精神。
"""


@pytest.fixture
def corpus(tmp_path):
    root = tmp_path / "corpus"
    for folder, name, text in (
        ("policy", "baxiang.md", POLICY),
        ("exemplars", "zhen-2024.md", EXEMPLAR),
        ("past", "ju-2023.txt", PAST),
        ("cases", "chihe.md", CASE),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / name).write_text(text, encoding="utf-8")
    (root / "README.md").write_text("说明文件，不应导入", encoding="utf-8")
    return root


@pytest.fixture
def kb():
    return KnowledgeBase(get_settings(), embedder=FakeEmbedder())


def _sources(hits):
    return [h.source.rsplit("/", 1)[-1] for h in hits]


def test_ingest_is_idempotent(kb, corpus):
    first = kb.ingest([corpus])
    assert first.ok and len(first.added) == 4 and first.chunks == kb.count() > 0
    version = kb.version()
    second = kb.ingest([corpus])
    assert len(second.skipped) == 4 and not second.added and not second.updated
    assert kb.count() == first.chunks and kb.version() == version
    docs = {d["source"].rsplit("/", 1)[-1]: d for d in kb.list_documents()}
    assert set(docs) == {"baxiang.md", "zhen-2024.md", "ju-2023.txt", "chihe.md"}
    assert docs["chihe.md"]["kind"] == "case" and docs["ju-2023.txt"]["kind"] == "past_material"
    assert docs["ju-2023.txt"]["year"] == 2023 and docs["zhen-2024.md"]["meeting_type"] == "班子"
    assert all(d["status"] == "done" and len(d["hash"]) == 64 and d["chunks"] > 0 for d in docs.values())


def test_changed_file_replaces_its_chunks(kb, corpus):
    kb.ingest([corpus])
    before = kb.count()
    assert _sources(kb.search("三会一课", mode="bm25", k=1)) == ["ju-2023.txt"]
    (corpus / "past" / "ju-2023.txt").write_text(
        "某局2023年度组织生活会对照检查材料\n一、存在的问题\n谈心谈话流于形式，全年只谈了2次。", encoding="utf-8")
    report = kb.ingest([corpus])
    assert [s.rsplit("/", 1)[-1] for s in report.updated] == ["ju-2023.txt"] and len(report.skipped) == 3
    assert kb.count() == before
    assert "ju-2023.txt" not in _sources(kb.search("三会一课 主题党日", mode="bm25"))
    assert _sources(kb.search("谈心谈话流于形式", mode="bm25", k=1)) == ["ju-2023.txt"]


def test_explicit_kind_reingests(kb, corpus):
    kb.ingest([corpus])
    report = kb.ingest([corpus / "past" / "ju-2023.txt"], kind="exemplar")
    assert len(report.updated) == 1
    assert {h.kind for h in kb.search("三会一课", mode="bm25", kinds="exemplar")} == {"exemplar"}


def test_delete_source(kb, corpus):
    kb.ingest([corpus])
    source = next(d["source"] for d in kb.list_documents() if d["source"].endswith("chihe.md"))
    total = kb.count()
    removed = kb.delete_source(source)
    assert removed > 0 and kb.count() == total - removed
    assert all(not d["source"].endswith("chihe.md") for d in kb.list_documents())
    assert "chihe.md" not in _sources(kb.search("内部食堂宴请 会议费", k=10))
    with pytest.raises(InputError, match="知识库中没有该文件"):
        kb.delete_source(source)


@pytest.mark.parametrize("max_fetch", [2000, 0], ids=["overfetch", "chroma-where"])
def test_filters_apply_to_every_mode(kb, corpus, monkeypatch, max_fetch):
    monkeypatch.setattr(store_mod, "MAX_FETCH", max_fetch)
    kb.ingest([corpus])
    for mode in ("hybrid", "dense", "bm25"):
        hits = kb.search("八项规定 宴请", mode=mode, kinds=["policy"], k=10)
        assert hits and {h.kind for h in hits} == {"policy"}
        hits = kb.search("高标准农田 非粮化", mode=mode, year=2024, k=10)
        assert hits and {h.year for h in hits} == {2024}
        hits = kb.search("宴请", mode=mode, meeting_type="通用", k=10)
        assert hits and {h.meeting_type for h in hits} == {"通用"}
        assert kb.search("宴请", mode=mode, year=1999) == []
    with pytest.raises(InputError):
        kb.search("宴请", kinds="novel")


def test_rrf_math():
    fused = reciprocal_rank_fusion([["a", "b", "c"], ["c", "a"]], k=60)
    assert [i for i, _ in fused] == ["a", "c", "b"]
    assert fused[0][1] == pytest.approx(1 / 61 + 1 / 62)
    assert fused[2][1] == pytest.approx(1 / 62)


def test_hybrid_order_is_rrf_of_dense_and_bm25(kb, corpus):
    kb.ingest([corpus])
    query = "调研 轻车简从 宴请"
    dense = [h.chunk_id for h in kb.search(query, mode="dense", k=50)]
    sparse = [h.chunk_id for h in kb.search(query, mode="bm25", k=50)]
    expected = reciprocal_rank_fusion([dense, sparse])
    hybrid = kb.search(query, mode="hybrid", k=5)
    assert [h.chunk_id for h in hybrid] == [i for i, _ in expected[:5]]
    assert [h.score for h in hybrid] == pytest.approx([s for _, s in expected[:5]])


def test_hits_carry_text_offsets_and_citations(kb, corpus):
    kb.ingest([corpus])
    hit = kb.search("轻车简从 迎送仪式", mode="bm25", k=1)[0]
    doc = load_document(corpus / "policy" / "baxiang.md")
    assert doc.text[hit.start : hit.end] == hit.text
    assert hit.heading_path == "一、改进调查研究"
    assert hit.citation == "《中共中央政治局贯彻落实中央八项规定实施细则》一、改进调查研究 第1段"
    assert hit.source.endswith("corpus/policy/baxiang.md") and hit.title == "中央八项规定实施细则（摘要）"
    assert hit.to_dict()["citation"] == hit.citation
    case = kb.search("内部食堂 会议费", mode="bm25", k=1, kinds="case")[0]
    assert case.citation == "《违规吃喝案例剖析》一、基本案情 第1段"


def test_per_source_dedup(kb, corpus):
    kb.ingest([corpus])
    hits = kb.search("问题", mode="bm25", k=10, per_source=1)
    assert len({h.source for h in hits}) == len(hits) > 1


def test_per_file_errors_are_collected(kb, corpus):
    (corpus / "past" / "broken.docx").write_bytes(b"PK\x03\x04 garbage")
    report = kb.ingest([corpus, corpus / "missing.md"])
    assert len(report.added) == 4
    messages = dict(report.errors)
    assert any("无法读取该Word文件" in m for m in messages.values())
    assert any("找不到" in m for m in messages.values())


def test_interrupted_ingest_can_be_rerun(kb, corpus, monkeypatch):
    real_upsert = kb._files.upsert

    def crash_on_done(**kwargs):
        if kwargs["metadatas"][0].get("status") == "done":
            raise KeyboardInterrupt  # simulates the process dying after chunks were written
        return real_upsert(**kwargs)

    monkeypatch.setattr(kb._files, "upsert", crash_on_done)
    with pytest.raises(KeyboardInterrupt):
        kb.ingest([corpus / "policy"])
    assert [d["status"] for d in kb.list_documents()] == ["pending"]
    monkeypatch.setattr(kb._files, "upsert", real_upsert)
    report = kb.ingest([corpus])
    assert len(report.added) == 3 and len(report.updated) == 1 and not report.skipped
    assert {d["status"] for d in kb.list_documents()} == {"done"}
    assert kb.count() == sum(d["chunks"] for d in kb.list_documents())


def test_bm25_cache_survives_restart_and_is_invalidated(kb, corpus, monkeypatch):
    kb.ingest([corpus])
    assert kb.search("三会一课", mode="bm25")
    assert (kb.cache_dir / "records.json").is_file()

    def no_rebuild(*args, **kwargs):
        raise AssertionError("index should come from the disk cache")

    fresh = KnowledgeBase(get_settings(), embedder=FakeEmbedder())
    monkeypatch.setattr(store_mod._Lexical, "build", no_rebuild)
    assert _sources(fresh.search("三会一课", mode="bm25", k=1)) == ["ju-2023.txt"]
    monkeypatch.undo()

    (corpus / "cases" / "chihe.md").write_text(CASE + "\n收受购物卡价值三千元。", encoding="utf-8")
    fresh.ingest([corpus])
    assert _sources(kb.search("购物卡", mode="bm25", k=1)) == ["chihe.md"]


def test_all_chunks_with_kind_filter(kb, corpus):
    kb.ingest([corpus])
    chunks = kb.all_chunks(kinds=["policy", "case"])
    assert chunks and {c.metadata["kind"] for c in chunks} == {"policy", "case"}
    assert all(c.metadata["source"] and c.text for c in chunks)
    assert len(kb.all_chunks()) == kb.count()


def test_search_input_errors_and_empty_store(kb):
    assert kb.search("八项规定") == []
    with pytest.raises(InputError, match="不能为空"):
        kb.search("  ")
    with pytest.raises(InputError, match="检索方式"):
        kb.search("八项规定", mode="fuzzy")


def test_ensure_index_syncs_corpus(kb, corpus):
    report = kb_cli.ensure_index(kb=kb, corpus=corpus)
    assert len(report.added) == 4
    assert len(kb_cli.ensure_index(kb=kb, corpus=corpus).skipped) == 4
    (corpus / "cases" / "chihe.md").unlink()
    kb_cli.ensure_index(kb=kb, corpus=corpus)
    assert len(kb.list_documents()) == 3


def test_cli_commands(kb, corpus, monkeypatch):
    monkeypatch.setattr(kb_cli, "get_kb", lambda: kb)
    runner = CliRunner()
    result = runner.invoke(kb_cli.app, ["ingest", str(corpus)])
    assert result.exit_code == 0 and "新增 4 个文件" in result.output
    result = runner.invoke(kb_cli.app, ["search", "轻车简从", "--json", "--k", "2", "--kind", "policy"])
    assert result.exit_code == 0
    hits = json.loads(result.output)
    assert 1 <= len(hits) <= 2 and hits[0]["kind"] == "policy" and hits[0]["citation"].startswith("《")
    result = runner.invoke(kb_cli.app, ["list"])
    assert result.exit_code == 0 and "共 4 个文件" in result.output
    source = kb.list_documents()[0]["source"]
    assert runner.invoke(kb_cli.app, ["delete", source]).exit_code == 0
    result = runner.invoke(kb_cli.app, ["delete", source])
    assert result.exit_code == 1 and "知识库中没有该文件" in result.output
