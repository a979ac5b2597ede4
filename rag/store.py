"""Drafts and their versions in SQLite (``<data_dir>/drafts.sqlite``).

Every draft keeps the facts it was written from and an append-only list of versions (Markdown plus the
structured ``Draft`` as JSON). An interview that gathers facts by chat (``rag.interview``) is kept as JSON in
its own table, linked to the draft written from it once there is one (older databases get the table on open). The database runs in WAL mode with ``synchronous=NORMAL``; each write is
one ``BEGIN IMMEDIATE`` transaction, so a crash or a killed process never leaves half a version behind,
and several threads or processes can write at the same time (SQLite serialises them; we wait up to
``timeout`` seconds for the lock).
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.config import get_settings
from rag.errors import StoreError

DB_NAME = "drafts.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    title       TEXT NOT NULL,
    facts_json  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    seq         INTEGER NOT NULL DEFAULT 0  -- grows with every change, orders "recent first"
);
CREATE TABLE IF NOT EXISTS versions (
    draft_id        INTEGER NOT NULL REFERENCES drafts(id) ON DELETE CASCADE,
    version_no      INTEGER NOT NULL,
    markdown        TEXT NOT NULL,
    structured_json TEXT NOT NULL,
    note            TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    PRIMARY KEY (draft_id, version_no)
);
CREATE TABLE IF NOT EXISTS interviews (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    draft_id    INTEGER REFERENCES drafts(id) ON DELETE SET NULL,  -- the draft written from it, if any
    state_json  TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    updated_at  TEXT NOT NULL
);
"""
_HINT = "请检查数据目录是否可写、磁盘是否已满；若文件损坏，可将 drafts.sqlite 改名后重新打开"


@dataclass(frozen=True)
class DraftInfo:
    """One saved draft: id, title, when it was created and last changed, how many versions it has."""

    id: int
    title: str
    created_at: str
    updated_at: str
    versions: int


@dataclass(frozen=True)
class DraftRecord:
    """A draft's header plus the facts (JSON) it was written from."""

    id: int
    title: str
    facts_json: str
    created_at: str
    updated_at: str


@dataclass(frozen=True)
class VersionInfo:
    """A version without its body (for pickers)."""

    draft_id: int
    version_no: int
    note: str
    created_at: str


@dataclass(frozen=True)
class Version:
    """A full version: Markdown text and the structured draft as JSON."""

    draft_id: int
    version_no: int
    markdown: str
    structured_json: str
    note: str
    created_at: str


def _now() -> str:
    return dt.datetime.now().isoformat(timespec="seconds")


class DraftStore:
    """SQLite-backed store of drafts and versions; safe to share between threads."""

    def __init__(self, path: str | Path | None = None, *, timeout: float = 30.0) -> None:
        self.path = Path(path) if path else get_settings().data_dir / DB_NAME
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None
        with self._write() as conn:
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)

    # ------------------------------------------------------------------ connection

    def _connection(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None,
                                       check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                conn.execute("PRAGMA foreign_keys=ON")
            except (sqlite3.Error, OSError) as exc:
                raise StoreError(f"无法打开草稿库：{self.path}", _HINT) from exc
            self._conn = conn
        return self._conn

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (``BEGIN IMMEDIATE`` … ``COMMIT``); rolled back on any error."""
        with self._lock:
            conn = self._connection()
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.Error as exc:
                raise StoreError("草稿库正忙或无法写入", _HINT) from exc
            try:
                yield conn
                conn.execute("COMMIT")
            except BaseException as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                if isinstance(exc, sqlite3.Error):
                    raise StoreError("保存草稿失败", _HINT) from exc
                raise

    def _read(self, sql: str, params: tuple = ()) -> list[tuple]:
        with self._lock:
            try:
                return self._connection().execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError("读取草稿库失败", _HINT) from exc

    def close(self) -> None:
        """Close the connection (the store reopens it on next use)."""
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    def __enter__(self) -> DraftStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ writes

    def create_draft(self, title: str, facts_json: str) -> int:
        """Create a draft (no versions yet); returns its id."""
        if not title or not title.strip():
            raise StoreError("草稿标题不能为空", "请填写单位和年度后再保存")
        now = _now()
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO drafts (title, facts_json, created_at, updated_at, seq) "
                "VALUES (?, ?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM drafts))",
                (title.strip(), facts_json or "{}", now, now),
            )
            return int(cur.lastrowid)

    def save_version(self, draft_id: int, markdown: str, structured_json: str, note: str = "") -> int:
        """Append a version to a draft in one transaction; returns the new version number (1, 2, …)."""
        now = _now()
        with self._write() as conn:
            self._require(conn, draft_id)
            row = conn.execute("SELECT COALESCE(MAX(version_no), 0) + 1 FROM versions WHERE draft_id = ?",
                               (int(draft_id),)).fetchone()
            version_no = int(row[0])
            conn.execute(
                "INSERT INTO versions (draft_id, version_no, markdown, structured_json, note, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (int(draft_id), version_no, markdown, structured_json, note or "", now),
            )
            conn.execute("UPDATE drafts SET updated_at = ?, seq = (SELECT MAX(seq) + 1 FROM drafts) WHERE id = ?",
                         (now, int(draft_id)))
            return version_no

    def delete_draft(self, draft_id: int) -> None:
        """Delete a draft and all its versions."""
        with self._write() as conn:
            self._require(conn, draft_id)
            conn.execute("DELETE FROM versions WHERE draft_id = ?", (int(draft_id),))
            conn.execute("DELETE FROM drafts WHERE id = ?", (int(draft_id),))

    @staticmethod
    def _require(conn: sqlite3.Connection, draft_id: int) -> None:
        if conn.execute("SELECT 1 FROM drafts WHERE id = ?", (int(draft_id),)).fetchone() is None:
            raise StoreError(f"找不到编号为 {draft_id} 的草稿", "可能已被删除，请在草稿列表中重新选择")

    # ------------------------------------------------------------------ interviews (facts gathered by chat)

    def create_interview(self, state_json: str, draft_id: int | None = None) -> int:
        """Keep a new interview's state (JSON); returns its id."""
        now = _now()
        with self._write() as conn:
            if draft_id is not None:
                self._require(conn, draft_id)
            cur = conn.execute(
                "INSERT INTO interviews (draft_id, state_json, created_at, updated_at) VALUES (?, ?, ?, ?)",
                (None if draft_id is None else int(draft_id), state_json or "{}", now, now),
            )
            return int(cur.lastrowid)

    def save_interview(self, interview_id: int, state_json: str, draft_id: int | None = None) -> None:
        """Replace an interview's state; ``draft_id`` (when given) links it to the draft written from it."""
        with self._write() as conn:
            self._require_interview(conn, interview_id)
            if draft_id is not None:
                self._require(conn, draft_id)
            conn.execute(
                "UPDATE interviews SET state_json = ?, updated_at = ?, draft_id = COALESCE(?, draft_id) WHERE id = ?",
                (state_json or "{}", _now(), None if draft_id is None else int(draft_id), int(interview_id)),
            )

    def get_interview(self, interview_id: int) -> str:
        """An interview's state (JSON)."""
        rows = self._read("SELECT state_json FROM interviews WHERE id = ?", (int(interview_id),))
        if not rows:
            raise StoreError(f"找不到编号为 {interview_id} 的对话记录", "可能已被删除，请重新开始对话采集")
        return rows[0][0]

    def interview_for_draft(self, draft_id: int) -> tuple[int, str] | None:
        """The latest interview linked to a draft, as (id, state JSON), or None."""
        rows = self._read("SELECT id, state_json FROM interviews WHERE draft_id = ? ORDER BY updated_at DESC, id DESC "
                          "LIMIT 1", (int(draft_id),))
        return (int(rows[0][0]), rows[0][1]) if rows else None

    @staticmethod
    def _require_interview(conn: sqlite3.Connection, interview_id: int) -> None:
        if conn.execute("SELECT 1 FROM interviews WHERE id = ?", (int(interview_id),)).fetchone() is None:
            raise StoreError(f"找不到编号为 {interview_id} 的对话记录", "可能已被删除，请重新开始对话采集")

    # ------------------------------------------------------------------ reads

    def list_drafts(self) -> list[DraftInfo]:
        """All drafts, most recently changed first."""
        rows = self._read(
            "SELECT d.id, d.title, d.created_at, d.updated_at, COUNT(v.version_no) FROM drafts d "
            "LEFT JOIN versions v ON v.draft_id = d.id GROUP BY d.id ORDER BY d.seq DESC, d.id DESC"
        )
        return [DraftInfo(int(r[0]), r[1], r[2], r[3], int(r[4])) for r in rows]

    def get_draft(self, draft_id: int) -> DraftRecord:
        """A draft's header and facts."""
        rows = self._read("SELECT id, title, facts_json, created_at, updated_at FROM drafts WHERE id = ?",
                          (int(draft_id),))
        if not rows:
            raise StoreError(f"找不到编号为 {draft_id} 的草稿", "可能已被删除，请在草稿列表中重新选择")
        r = rows[0]
        return DraftRecord(int(r[0]), r[1], r[2], r[3], r[4])

    def versions(self, draft_id: int) -> list[VersionInfo]:
        """A draft's versions, oldest first."""
        rows = self._read("SELECT draft_id, version_no, note, created_at FROM versions WHERE draft_id = ? "
                          "ORDER BY version_no", (int(draft_id),))
        return [VersionInfo(int(r[0]), int(r[1]), r[2], r[3]) for r in rows]

    def get_version(self, draft_id: int, version_no: int | None = None) -> Version:
        """One version (the latest when ``version_no`` is None)."""
        cols = "draft_id, version_no, markdown, structured_json, note, created_at"
        if version_no is None:
            rows = self._read(f"SELECT {cols} FROM versions WHERE draft_id = ? ORDER BY version_no DESC LIMIT 1",
                              (int(draft_id),))
        else:
            rows = self._read(f"SELECT {cols} FROM versions WHERE draft_id = ? AND version_no = ?",
                              (int(draft_id), int(version_no)))
        if not rows:
            which = "任何版本" if version_no is None else f"第 {version_no} 版"
            raise StoreError(f"草稿 {draft_id} 没有{which}", "请在版本列表中重新选择")
        r = rows[0]
        return Version(int(r[0]), int(r[1]), r[2], r[3], r[4], r[5])
