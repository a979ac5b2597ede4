"""Near-duplicate index: vectorised MinHash signatures agree with a brute-force computation, near copies
are found with their source, unrelated text is not, and batches give the same answers as single queries."""

from __future__ import annotations

import random

import numpy as np
import pytest

from rag.critic.similarity import CHUNK, SHINGLE, ShingleIndex, _window_hashes, clean, shingles, signatures


def _brute(text: str) -> np.ndarray:
    """The signature computed the slow way: every window's hash through every permutation, in 64 bits."""
    from rag.critic import similarity as sim

    if len(text) < SHINGLE:
        return np.full(sim.NUM_PERM, 0xFFFFFFFF, dtype=np.uint32)
    hv = _window_hashes(np.frombuffer(text.encode("utf-32-le"), dtype=np.uint32), SHINGLE).astype(np.uint64)
    full = (sim._A.astype(np.uint64)[:, None] * hv[None, :] + sim._B.astype(np.uint64)[:, None]) & 0xFFFFFFFF
    return full.min(axis=1).astype(np.uint32)


def _hanzi(rng: random.Random, n: int) -> str:
    return "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(n))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_signatures_match_brute_force_across_chunk_boundaries(seed: int) -> None:
    rng = random.Random(seed)
    sizes = [0, 3, SHINGLE, 50, 700, CHUNK - 1, CHUNK + SHINGLE, CHUNK + SHINGLE + 1, 3 * CHUNK + 17]
    texts = [_hanzi(rng, rng.choice(sizes)) for _ in range(40)]
    sigs = signatures(texts)
    assert sigs.shape == (40, 64) and sigs.dtype == np.uint32
    for text, sig in zip(texts, sigs, strict=True):
        assert np.array_equal(sig, _brute(text)), len(text)


def test_windows_never_straddle_two_texts() -> None:
    # "甲乙" + "丙丁戊己" joined would form the 5-gram 乙丙丁戊己; neither text alone contains it
    assert np.array_equal(signatures(["甲乙丙丁", "戊己庚辛壬"])[0], _brute("甲乙丙丁"))
    assert np.array_equal(signatures(["甲乙丙丁", "戊己庚辛壬"])[1], _brute("戊己庚辛壬"))


def test_near_copy_found_with_source_and_unrelated_text_not() -> None:
    rng = random.Random(5)
    refs = {f"ref{i}": _hanzi(rng, 120) for i in range(300)}
    idx = ShingleIndex(threshold=0.3)
    idx.add_many([(k, v, {"title": k}) for k, v in refs.items()])
    assert len(idx) == 300
    copy = refs["ref42"][:100] + "，本单位另加的几句话"
    m = idx.best(copy)
    assert m is not None and m.key == "ref42" and m.meta["title"] == "ref42" and m.score > 0.9
    assert idx.best(_hanzi(random.Random(99), 120)) is None
    assert idx.best(copy, exclude={"ref42"}) is None  # a draft is never its own duplicate


def test_batch_queries_equal_single_queries_and_short_texts_are_skipped() -> None:
    rng = random.Random(7)
    refs = [_hanzi(rng, 80) for _ in range(50)]
    idx = ShingleIndex(threshold=0.3)
    for i, t in enumerate(refs):
        idx.add(f"r{i}", t)
    queries = [refs[3][:60], "太短", refs[10][5:75], _hanzi(rng, 90)]
    many = idx.best_many(queries)
    single = [idx.best(q) for q in queries]
    assert [m.key if m else None for m in many] == [m.key if m else None for m in single]
    assert many[1] is None and many[0].key == "r3" and many[2].key == "r10"


def test_containment_score_is_exact() -> None:
    ref = "按照上级部署开展调查研究形成调研报告五篇推动问题整改落实到位"
    idx = ShingleIndex(threshold=0.3, min_chars=10)
    idx.add("a", ref)
    query = ref[:20]
    m = idx.best(query)
    assert m is not None
    assert m.score == pytest.approx(len(shingles(query) & shingles(ref)) / len(shingles(query)))
    assert clean("a b，c。") == "abc"
