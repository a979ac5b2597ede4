"""Knowledge base under bad conditions: thousands of small files (fake embedder) and an ingest killed
mid-way (re-run completes it, no duplicates, no half-written file left behind)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from rag.config import Settings
from rag.embed import FakeEmbedder
from rag.kb.store import KnowledgeBase

ROOT = Path(__file__).resolve().parent.parent
LINE = "第{n}份材料。一是调查研究不够深入，全年到基层调研{n}次，其中城区占一半以上。\n"
CHILD = """
import sys
from pathlib import Path
from rag.config import Settings
from rag.embed import FakeEmbedder
from rag.kb.store import KnowledgeBase
kb = KnowledgeBase(Settings(data_dir=Path(sys.argv[1])), embedder=FakeEmbedder())


def progress(done, total, src):
    print(done, flush=True)
    if done >= 200:  # stop here until the parent kills us: the crash point is fixed, not a race
        sys.stdin.read()


kb.ingest([sys.argv[2]], progress=progress)
"""


def _folder(root: Path, n: int) -> Path:
    for i in range(n):
        sub = root / f"{i % 10}"
        sub.mkdir(parents=True, exist_ok=True)
        (sub / f"m{i:05d}.md").write_text(f"# 材料{i}\n\n" + LINE.format(n=i) * 2, encoding="utf-8")
    (root / "坏文件.txt").write_bytes(b"\x00\x01binary")
    return root


def _kb(data: Path) -> KnowledgeBase:
    return KnowledgeBase(Settings(data_dir=data), embedder=FakeEmbedder())


def test_thousands_of_small_files(tmp_path):
    folder = _folder(tmp_path / "kb", 1500)
    kb = _kb(tmp_path / "data")
    seen: list[tuple[int, int]] = []
    report = kb.ingest([folder], progress=lambda done, total, src: seen.append((done, total)))
    assert len(report.added) == 1500 and report.chunks == 1500
    assert [s for s, _ in report.errors] and "不是文本文件" in report.errors[0][1]  # one bad file, reported
    assert seen[0] == (0, 1501) and seen[-1] == (1501, 1501) and len(seen) == 1502
    assert kb.count() == 1500
    docs = kb.list_documents()
    assert len(docs) == 1500 and {d["status"] for d in docs} == {"done"}
    assert kb.search("第1234份材料", k=1, mode="bm25")[0].source.endswith("m01234.md")
    again = kb.ingest([folder])
    assert len(again.skipped) == 1500 and again.chunks == 0 and kb.count() == 1500


def test_interrupted_ingest_is_completed_by_rerun(tmp_path):
    folder = _folder(tmp_path / "kb", 600)
    data = tmp_path / "data"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(data), str(folder)], cwd=ROOT, stdout=subprocess.PIPE,
                            stdin=subprocess.PIPE, text=True, start_new_session=True)
    killed_at = None
    assert proc.stdout is not None
    for line in proc.stdout:
        if int(line) >= 200:  # a few groups are written, the rest not yet
            os.killpg(proc.pid, signal.SIGKILL)
            killed_at = int(line)
            break
    proc.wait(timeout=60)
    assert killed_at is not None and proc.returncode == -signal.SIGKILL

    kb = _kb(data)
    before = kb.list_documents()
    assert 0 < len(before) < 601 and kb.count() < 600  # really interrupted
    report = kb.ingest([folder])
    assert len(report.added) + len(report.updated) + len(report.skipped) == 600
    assert kb.count() == 600  # every chunk once: ids are source#ordinal, pending files are redone
    ids = kb._chunks.get(include=[])["ids"]
    assert len(ids) == len(set(ids)) == 600
    docs = kb.list_documents()
    assert len(docs) == 600 and {d["status"] for d in docs} == {"done"}
    assert len(kb.ingest([folder]).skipped) == 600
