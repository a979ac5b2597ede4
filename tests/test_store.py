"""DraftStore: round trip, version order, persistence, concurrent writers, crash safety."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import sqlite3
import threading
from pathlib import Path

import pytest

from rag.config import get_settings
from rag.errors import StoreError
from rag.store import DraftStore

FACTS = json.dumps({"unit": "岚溪县文化广电旅游体育局领导班子", "year": 2025}, ensure_ascii=False)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "drafts.sqlite"


def test_default_path_is_in_data_dir():
    store = DraftStore()
    assert store.path == get_settings().data_dir / "drafts.sqlite"
    assert store.path.exists()
    store.close()


def test_wal_mode_and_synchronous_normal(db: Path):
    with DraftStore(db) as store:
        conn = store._connection()
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_round_trip(db: Path):
    with DraftStore(db) as store:
        draft_id = store.create_draft("某局2025年度民主生活会对照检查材料", FACTS)
        version = store.save_version(draft_id, "# 标题\n一、存在的问题", '{"parts": []}', "初稿")
        assert version == 1
        got = store.get_version(draft_id)
        assert (got.markdown, got.structured_json, got.note) == ("# 标题\n一、存在的问题", '{"parts": []}', "初稿")
        record = store.get_draft(draft_id)
        assert record.title == "某局2025年度民主生活会对照检查材料"
        assert json.loads(record.facts_json)["unit"] == "岚溪县文化广电旅游体育局领导班子"
        [info] = store.list_drafts()
        assert (info.id, info.versions) == (draft_id, 1)


def test_versions_are_ordered_and_latest_is_default(db: Path):
    with DraftStore(db) as store:
        draft_id = store.create_draft("草稿", FACTS)
        numbers = [store.save_version(draft_id, f"第{i}稿", "{}", f"修改{i}") for i in range(1, 6)]
        assert numbers == [1, 2, 3, 4, 5]
        assert [v.version_no for v in store.versions(draft_id)] == [1, 2, 3, 4, 5]
        assert [v.note for v in store.versions(draft_id)] == [f"修改{i}" for i in range(1, 6)]
        assert store.get_version(draft_id).markdown == "第5稿"
        assert store.get_version(draft_id, 2).markdown == "第2稿"


def test_versions_are_per_draft(db: Path):
    with DraftStore(db) as store:
        a, b = store.create_draft("甲", FACTS), store.create_draft("乙", FACTS)
        store.save_version(a, "甲1", "{}")
        assert store.save_version(b, "乙1", "{}") == 1
        assert store.save_version(a, "甲2", "{}") == 2
        assert store.list_drafts()[0].id == a  # most recently changed first


def test_reopen_after_close_persists(db: Path):
    store = DraftStore(db)
    draft_id = store.create_draft("草稿", FACTS)
    store.save_version(draft_id, "正文", "{}", "初稿")
    store.close()
    reopened = DraftStore(db)
    assert reopened.get_version(draft_id).markdown == "正文"
    assert reopened.save_version(draft_id, "正文2", "{}") == 2
    reopened.close()


def test_delete_draft_removes_versions(db: Path):
    with DraftStore(db) as store:
        draft_id = store.create_draft("草稿", FACTS)
        store.save_version(draft_id, "正文", "{}")
        store.delete_draft(draft_id)
        assert store.list_drafts() == []
        assert store.versions(draft_id) == []
        with pytest.raises(StoreError) as err:
            store.get_version(draft_id)
        assert "没有" in err.value.message and err.value.hint


def test_errors_are_chinese(db: Path):
    with DraftStore(db) as store:
        with pytest.raises(StoreError, match="找不到编号为 42 的草稿"):
            store.save_version(42, "正文", "{}")
        with pytest.raises(StoreError, match="标题不能为空"):
            store.create_draft("  ", FACTS)


def test_unwritable_location_is_a_store_error(tmp_path: Path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(StoreError) as err:
        DraftStore(blocker / "drafts.sqlite")
    assert "无法打开草稿库" in err.value.message


def test_concurrent_writers_from_two_threads(db: Path):
    DraftStore(db).close()
    errors: list[BaseException] = []
    per_thread = 40

    def writer(tag: str) -> None:
        try:
            with DraftStore(db) as store:
                draft_id = store.create_draft(f"草稿{tag}", FACTS)
                for i in range(per_thread):
                    store.save_version(draft_id, f"{tag}-{i}", "{}", tag)
                shared = 1
                for i in range(per_thread):
                    store.save_version(shared, f"shared-{tag}-{i}", "{}", tag)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)

    with DraftStore(db) as store:
        assert store.create_draft("共用", FACTS) == 1
    threads = [threading.Thread(target=writer, args=(t,)) for t in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with DraftStore(db) as store:
        shared = [v.version_no for v in store.versions(1)]
        assert shared == list(range(1, 2 * per_thread + 1))  # no duplicate or skipped number
        own = [d for d in store.list_drafts() if d.id != 1]
        assert sorted(d.versions for d in own) == [per_thread, per_thread]
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    conn.close()


def _crashing_writer(path: str, committed: int, ready) -> None:
    """Child process: commit some versions, then die with os._exit inside a long write transaction."""
    store = DraftStore(path)
    draft_id = store.create_draft("崩溃测试", FACTS)
    for i in range(committed):
        store.save_version(draft_id, f"已提交{i}", "{}", "ok")
    with store._write() as conn:
        big = "未提交的内容" * 20000
        for i in range(300):  # large enough to spill pages into the WAL before commit
            conn.execute(
                "INSERT INTO versions (draft_id, version_no, markdown, structured_json, note, created_at) "
                "VALUES (?, ?, ?, '{}', 'lost', '')",
                (draft_id, committed + 1 + i, big),
            )
        ready.set()
        os._exit(3)


def test_killed_child_mid_write_loses_nothing_committed(db: Path):
    ctx = mp.get_context("spawn")
    ready = ctx.Event()
    child = ctx.Process(target=_crashing_writer, args=(str(db), 5, ready))
    child.start()
    child.join(timeout=120)
    assert child.exitcode == 3
    assert ready.is_set()  # it really was inside the transaction when it died
    with DraftStore(db) as store:
        [info] = store.list_drafts()
        assert info.versions == 5
        assert [v.note for v in store.versions(info.id)] == ["ok"] * 5
        assert store.get_version(info.id).markdown == "已提交4"
        assert store.save_version(info.id, "崩溃后继续", "{}") == 6
        assert store._connection().execute("PRAGMA integrity_check").fetchone()[0] == "ok"
