"""A shared knowledge base on a Chroma server (``ZHAOJING_CHROMA_HOST``/``PORT``), as the README offers.

A real ``chroma run`` from the installed chromadb on loopback (its data in a temp dir), the same folder
ingested there and into the embedded store: searches return the same passages, scores and citations.
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

import pytest
from procs import stop_group

from rag.config import Settings
from rag.embed import FakeEmbedder
from rag.kb.store import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
CHROMA = ROOT / ".venv" / "bin" / "chroma"
DOCS = {
    "政策摘要.md": "# 民主生活会会前准备\n\n会前要开展谈心谈话，班子成员之间、班子成员与分管部门负责人之间都要谈。\n\n"
                 "征求意见要覆盖基层党员和服务对象，意见要逐条梳理、反馈。",
    "往年材料.md": "# 2024年度班子对照检查材料（节选）\n\n一是学用结合还不够紧密。中心组学习12次，其中5次以领读文件为主。\n\n"
                 "二是落实上级部署不够及时。非粮化整治方案晚报1个多月。",
    "典型案例.md": "# 典型案例\n\n某县农机站原站长在补贴审核中收受好处费，被开除党籍、开除公职。",
}
QUERIES = ["会前谈心谈话怎么谈", "学用结合 中心组学习", "补贴审核 收受好处费"]


def _free_port() -> int:
    # chroma run has no "port 0"; a port that stays free between this check and the bind is retried below
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start(data: Path, log: Path) -> tuple[subprocess.Popen, int]:
    """``chroma run`` on loopback; retried on another port if the chosen one was taken meanwhile."""
    for _ in range(3):
        port = _free_port()
        with log.open("wb") as out:
            proc = subprocess.Popen([str(CHROMA), "run", "--path", str(data), "--host", "127.0.0.1", "--port", str(port)],
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    return proc, port
            except OSError:
                time.sleep(0.3)
        stop_group(proc)
    raise AssertionError(f"chroma run did not start:\n{log.read_text(errors='replace')}")


@pytest.mark.skipif(not CHROMA.exists(), reason="chromadb 的 chroma 命令不在 .venv 中")
def test_chroma_server_gives_the_same_results_as_the_embedded_store(tmp_path):
    folder = tmp_path / "kb"
    folder.mkdir()
    for name, text in DOCS.items():
        (folder / name).write_text(text, encoding="utf-8")
    local = KnowledgeBase(Settings(data_dir=tmp_path / "local"), embedder=FakeEmbedder())
    local.ingest([folder])

    proc, port = _start(tmp_path / "chroma-data", tmp_path / "chroma.log")
    try:
        remote = KnowledgeBase(Settings(data_dir=tmp_path / "remote", chroma_host="127.0.0.1", chroma_port=port),
                               embedder=FakeEmbedder())
        report = remote.ingest([folder])
        assert len(report.added) == len(DOCS) and remote.count() == local.count() > 0
        for query in QUERIES:
            a = local.search(query, k=3)
            b = remote.search(query, k=3)
            assert [(h.source, h.text) for h in a] == [(h.source, h.text) for h in b], query
            assert [getattr(h, "citation", "") for h in a] == [getattr(h, "citation", "") for h in b]
            assert [round(h.score, 4) for h in a] == [round(h.score, 4) for h in b]
        assert sorted(d["source"] for d in remote.list_documents()) == sorted(d["source"] for d in local.list_documents())
    finally:
        stop_group(proc)
