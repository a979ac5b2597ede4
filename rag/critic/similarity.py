"""Near-duplicate detection: character-shingle MinHash LSH over paragraphs, verified by exact containment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
from datasketch import MinHash, MinHashLSH

SHINGLE = 5
NUM_PERM = 64
_STRIP = re.compile(r"[\s\W_]+", re.UNICODE)
_PERMS = MinHash(num_perm=NUM_PERM, seed=7)  # shared permutations, created once


def clean(text: str) -> str:
    """Text with whitespace and punctuation removed (what shingles are built from)."""
    return _STRIP.sub("", text)


def shingles(text: str, k: int = SHINGLE) -> set[str]:
    """Character k-gram set of the cleaned text."""
    t = clean(text)
    return {t[i:i + k] for i in range(max(0, len(t) - k + 1))}


def minhash(sh: set[str]) -> MinHash:
    """A MinHash over a shingle set, using the shared permutations."""
    m = MinHash(num_perm=NUM_PERM, seed=7, permutations=_PERMS.permutations, scheme=_PERMS.scheme)
    if sh:
        m.update_batch([s.encode("utf-8") for s in sh])
    return m


@dataclass
class Match:
    """The best near-duplicate of a query paragraph: its source and containment score."""

    key: str
    meta: dict
    score: float
    text: str


@dataclass
class ShingleIndex:
    """An LSH index of reference paragraphs (knowledge-base chunks or other drafts)."""

    threshold: float = 0.3
    min_chars: int = 30
    _lsh: MinHashLSH | None = None
    _items: dict[str, tuple[set[str], dict, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lsh = MinHashLSH(threshold=self.threshold, num_perm=NUM_PERM)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, key: str, text: str, meta: dict | None = None) -> None:
        """Index one reference text under a unique key."""
        sh = shingles(text)
        if len(clean(text)) < self.min_chars or key in self._items:
            return
        self._items[key] = (sh, meta or {}, text)
        self._lsh.insert(key, minhash(sh))

    def best(self, text: str, exclude: set[str] | None = None) -> Match | None:
        """The reference with the highest containment of ``text``'s shingles, if any candidate exists."""
        sh = shingles(text)
        if len(clean(text)) < self.min_chars or not sh:
            return None
        best: Match | None = None
        for key in self._lsh.query(minhash(sh)):
            if exclude and key in exclude:
                continue
            ref, meta, ref_text = self._items[key]
            score = len(sh & ref) / len(sh)
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
