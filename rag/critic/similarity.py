"""Near-duplicate detection: character-shingle MinHash LSH over paragraphs, verified by exact containment.

Signatures are computed for many texts at once in numpy (k-gram hashes, affine permutations, a segmented
minimum), and looked up in banded hash tables whose band/row split comes from datasketch's optimiser for
the threshold. The verification step (containment of the query's shingles in the candidate's) is exact.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHashLSH

SHINGLE = 5
NUM_PERM = 64
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)
_rng = np.random.default_rng(7)  # fixed permutations: the same signatures in every process
_A = (_rng.integers(1, 1 << 32, NUM_PERM, dtype=np.uint64) | np.uint64(1)).astype(np.uint32)
_B = _rng.integers(0, 1 << 32, NUM_PERM, dtype=np.uint64).astype(np.uint32)
_EMPTY = np.full(NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)


def clean(text: str) -> str:
    """Text with whitespace and punctuation removed (what shingles are built from)."""
    return _STRIP.sub("", text)


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """Character k-gram set of the cleaned text."""
    return _kgrams(clean(text), k)


def _kgrams(t: str, k: int = SHINGLE) -> set[str]:
    return {t[i:i + k] for i in range(max(0, len(t) - k + 1))}


def _fmix32(h: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser (uint32 arithmetic wraps modulo 2**32)."""
    h = h ^ (h >> np.uint32(16))
    h = h * np.uint32(0x85EBCA6B)
    h = h ^ (h >> np.uint32(13))
    h = h * np.uint32(0xC2B2AE35)
    return h ^ (h >> np.uint32(16))


def _window_hashes(cp: np.ndarray, k: int) -> np.ndarray:
    """32-bit hash of every k-code-point window of ``cp`` (FNV-1a over the window, then fmix32)."""
    n = len(cp) - k + 1
    if n <= 0:
        return np.empty(0, dtype=np.uint32)
    h = np.full(n, 0x811C9DC5, dtype=np.uint32)
    for j in range(k):
        h = (h ^ cp[j:j + n]) * np.uint32(0x01000193)
    return _fmix32(h)


CHUNK = 4096  # windows per numpy pass: a 1 MB scratch buffer per thread, whatever the text size
_local = threading.local()


def _affine(hv: np.ndarray) -> np.ndarray:
    """NUM_PERM × len(hv) permuted hashes, written into this thread's reused scratch buffer.

    A fresh multi-megabyte temporary on every call cost more than the arithmetic (page faults).
    """
    buf = getattr(_local, "buf", None)
    if buf is None:
        buf = _local.buf = np.empty(NUM_PERM * CHUNK, dtype=np.uint32)
    out = buf[:NUM_PERM * len(hv)].reshape(NUM_PERM, len(hv))
    np.multiply(_A[:, None], hv[None, :], out=out)
    np.add(out, _B[:, None], out=out)  # affine permutations, wrapping modulo 2**32
    return out


def _segment_minima(joined: list[str], k: int) -> np.ndarray:
    """Signatures of texts whose windows together fit in one chunk (a segmented minimum)."""
    hv = _window_hashes(np.frombuffer("".join(joined).encode("utf-32-le"), dtype=np.uint32), k)
    lengths = np.fromiter((len(t) for t in joined), dtype=np.int64, count=len(joined))
    starts = np.concatenate(([0], np.cumsum(lengths)[:-1]))
    bounds = np.column_stack((starts, starts + lengths - k + 1)).ravel()[:-1]  # odd segments straddle texts
    return np.minimum.reduceat(_affine(hv), bounds, axis=1)[:, ::2].T


def _long_signature(text: str, k: int) -> np.ndarray:
    """Signature of one text with more windows than a chunk: a running minimum over chunks."""
    hv = _window_hashes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), k)
    sig = _EMPTY.copy()
    for i in range(0, len(hv), CHUNK):
        np.minimum(sig, _affine(hv[i:i + CHUNK]).min(axis=1), out=sig)
    return sig


def signatures(cleaned: Sequence[str], k: int = SHINGLE) -> np.ndarray:
    """MinHash signatures (n × NUM_PERM, uint32) of already cleaned texts, computed a chunk at a time.

    A text shorter than ``k`` gets the empty signature (all ones), which matches nothing useful.
    """
    out = np.tile(_EMPTY, (len(cleaned), 1))
    group: list[int] = []
    size = 0

    def flush() -> None:
        if group:
            out[group] = _segment_minima([cleaned[i] for i in group], k)

    for i, text in enumerate(cleaned):
        n = len(text) - k + 1
        if n <= 0:
            continue
        if n > CHUNK:
            out[i] = _long_signature(text, k)
            continue
        if size + len(text) - k + 1 > CHUNK:  # the joined group's windows must fit in one chunk
            flush()
            group, size = [], 0
        group.append(i)
        size += len(text)
    flush()
    return out


@dataclass
class Match:
    """The best near-duplicate of a query paragraph: its source and containment score."""

    key: str
    meta: dict
    score: float
    text: str


def _band_keys(sigs: np.ndarray, ranges: Sequence[tuple[int, int]]) -> list[list[int]]:
    """One integer key per LSH band of every signature (rows of a band folded into 64 bits).

    Folding can make two different bands share a key; that only adds a candidate, and every candidate
    is verified by exact shingle containment.
    """
    wide = sigs.astype(np.uint64)
    cols = []
    for a, b in ranges:
        key = np.zeros(len(sigs), dtype=np.uint64)
        for j in range(a, b):
            key = key * np.uint64(0x100000001B3) ^ wide[:, j]
        cols.append(key)
    return np.column_stack(cols).tolist() if cols else [[] for _ in range(len(sigs))]


@dataclass
class ShingleIndex:
    """An LSH index of reference paragraphs (knowledge-base chunks or other drafts)."""

    threshold: float = 0.3
    min_chars: int = 30
    _items: dict[str, tuple[set[str], dict, str]] = field(default_factory=dict)
    _ranges: list[tuple[int, int]] = field(default_factory=list)
    _tables: list[dict[int, list[str]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        # datasketch chooses the band/row split that balances false positives and negatives
        self._ranges = list(MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM).hashranges)
        self._tables = [{} for _ in self._ranges]

    def __len__(self) -> int:
        return len(self._items)

    def add(self, key: str, text: str, meta: dict | None = None) -> None:
        """Index one reference text under a unique key."""
        self.add_many([(key, text, meta)])

    def add_many(self, entries: Sequence[tuple[str, str, dict | None]]) -> None:
        """Index several (key, text, meta) entries; signatures are computed together."""
        fresh, seen = [], set()
        for key, text, meta in entries:
            cleaned = clean(text)
            if len(cleaned) >= self.min_chars and key not in self._items and key not in seen:
                seen.add(key)
                fresh.append((key, text, meta, cleaned))
        keys = _band_keys(signatures([c for *_, c in fresh]), self._ranges)
        for (key, text, meta, cleaned), bands in zip(fresh, keys, strict=True):
            self._items[key] = (_kgrams(cleaned), meta or {}, text)
            for band, table in zip(bands, self._tables, strict=True):
                table.setdefault(band, []).append(key)

    def best(self, text: str, exclude: set[str] | None = None) -> Match | None:
        """The reference with the highest containment of ``text``'s shingles, if any candidate exists."""
        return self.best_many([text], exclude)[0]

    def best_many(self, texts: Sequence[str], exclude: set[str] | None = None) -> list[Match | None]:
        """``best`` for several query texts (signatures computed together)."""
        cleaned = [clean(t) for t in texts]
        keys = _band_keys(signatures(cleaned), self._ranges)
        out: list[Match | None] = []
        for c, bands in zip(cleaned, keys, strict=True):
            found: set[str] = set()
            if len(c) >= self.min_chars:
                for band, table in zip(bands, self._tables, strict=True):
                    found.update(table.get(band, ()))
            out.append(self._verify(_kgrams(c), found - (exclude or set())) if found else None)
        return out

    def _verify(self, sh: set[str], candidates: set[str]) -> Match | None:
        best: Match | None = None
        for key in sorted(candidates):
            ref, meta, ref_text = self._items[key]
            score = len(sh & ref) / len(sh) if sh else 0.0
            if best is None or score > best.score:
                best = Match(key, meta, score, ref_text)
        return best


def jaccard_matrix(texts: list[str]) -> np.ndarray:
    """Exact pairwise Jaccard similarity of shingle sets (for small batches and tests)."""
    sets = [shingles(t) for t in texts]
    n = len(sets)
    out = np.eye(n)
    for i in range(n):
        for j in range(i + 1, n):
            u = len(sets[i] | sets[j]) or 1
            out[i, j] = out[j, i] = len(sets[i] & sets[j]) / u
    return out
