"""Default mode makes no outbound connection: the CLI and the app, end to end, under a guard that refuses and
records any non-loopback connect / DNS lookup (tests/outbound_guard/sitecustomize.py).

Steps: ``kb ingest`` on a small folder, ``critique``, ``draft`` (model: the local recording FakeOpenAIServer,
so the real ChatOpenAI client runs), ``eval-critic``, and a headless ``streamlit run ui/app.py`` on a free
loopback port (pages opened in Chromium when it is installed). Asserts 0 blocked attempts, telemetry off inside
every process, and the app listening on 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from procs import stop_group
from samples import MINI_TITLE, WEAK

from rag.evals.scripted import draft_responder
from rag.llm.testing_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
GUARD = Path(__file__).resolve().parent / "outbound_guard"
BIN = Path(sys.executable).parent
CHROMIUM = Path("/usr/bin/chromium")
OFF = {"ANONYMIZED_TELEMETRY": "False", "CHROMA_TELEMETRY": "False", "LANGCHAIN_TRACING_V2": "false",
       "LANGSMITH_TRACING": "false", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false", "DO_NOT_TRACK": "1"}

# Knowledge-base files written for this test.
KB_FILES = {
    "policy/会前准备要点.md": "# 会前准备要点\n\n会前要开展谈心谈话，班子成员之间、班子成员与分管同志之间逐一谈心。\n\n"
                            "征求意见要覆盖服务对象和基层单位，意见要原汁原味反馈给班子成员。\n",
    "past/2024年度班子对照检查材料.md": "# 岚溪县某局2024年度民主生活会对照检查材料\n\n一、存在的问题\n\n"
                                   "一是调查研究不深入，2024年班子成员到基层调研12次，其中8次集中在城区。\n",
    "cases/警示案例.txt": "某县文旅公司原负责人在工程招标中收受财物，被开除党籍。案例说明监督缺位的危害。\n",
}


def _records(log: Path) -> list[dict]:
    if not log.exists():
        return []
    return [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]


def _env(tmp: Path, log: Path, **extra: str) -> dict[str, str]:
    # telemetry switches are dropped (this pytest process has set them): each child must set its own
    dropped = ("OPENAI_", "ZHAOJING_", "STREAMLIT_", "LANGCHAIN_", "LANGSMITH_", "ANONYMIZED_", "CHROMA_", "HF_",
               "TRANSFORMERS_", "DO_NOT_TRACK")
    env = {k: v for k, v in os.environ.items() if not k.startswith(dropped)}
    env.update(PYTHONPATH=str(GUARD), ZHAOJING_GUARD_LOG=str(log), ZHAOJING_DATA_DIR=str(tmp / "data"),
               ZHAOJING_LLM="fake", HOME=str(tmp / "home"), **extra)
    return env


def _run(args: list[str], env: dict[str, str], timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "zhaojing"), *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=timeout)


def test_guard_blocks_and_records_a_real_attempt(tmp_path):
    """The guard itself can fail: a connect to a documentation address is refused and logged."""
    log = tmp_path / "guard.jsonl"
    code = "import socket\ntry:\n    socket.create_connection(('192.0.2.7', 443), timeout=1)\nexcept OSError as e:\n" \
           "    print('refused', e)\n"
    res = subprocess.run([sys.executable, "-c", code], env=_env(tmp_path, log), capture_output=True, text=True,
                         timeout=60)
    assert "blocked by the test guard" in res.stdout
    blocked = [r for r in _records(log) if "blocked" in r]
    assert [(r["host"], r["port"]) for r in blocked] == [("192.0.2.7", "443")]


def _listeners(port: int) -> set[str]:
    """Local addresses listening on ``port`` (from /proc/net/tcp and tcp6), e.g. {"127.0.0.1"}."""
    found = set()
    for name in ("tcp", "tcp6"):
        path = Path("/proc/net") / name
        if not path.exists():
            continue
        for line in path.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            addr, port_hex = local.split(":")
            if state == "0A" and int(port_hex, 16) == port:
                if len(addr) == 8:
                    found.add(socket.inet_ntop(socket.AF_INET, bytes.fromhex(addr)[::-1]))
                else:
                    raw = b"".join(bytes.fromhex(addr[i:i + 8])[::-1] for i in range(0, 32, 8))
                    found.add(socket.inet_ntop(socket.AF_INET6, raw))
    return found


def _start_app(env: dict[str, str], log: Path) -> tuple[subprocess.Popen, int]:
    """Streamlit on a port it picks itself (port 0, read back from its log: no race for a free port)."""
    # no --server.address: the binding must come from the project's .streamlit/config.toml
    cmd = [str(BIN / "streamlit"), "run", "ui/app.py", "--server.port", "0", "--server.headless", "true"]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 120
    port = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"streamlit exited early:\n{log.read_text(errors='replace')}")
        m = re.search(r"URL: http://127\.0\.0\.1:(\d+)", log.read_text(errors="replace"))
        port = port or (int(m.group(1)) if m else None)
        try:
            if port:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return proc, port
        except OSError:
            pass
        time.sleep(0.3)
    raise AssertionError(f"streamlit not healthy:\n{log.read_text(errors='replace')}")


def _open_pages(port: int) -> list[str]:
    """Open two pages in Chromium so the app script really runs; returns the texts seen (skipped without it)."""
    if not CHROMIUM.exists():
        return []
    from playwright.sync_api import sync_playwright

    seen = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                     args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"])
        try:
            page = browser.new_page()
            for path, text in (("/", "离线模式"), ("/knowledge", "知识库")):
                page.goto(f"http://127.0.0.1:{port}{path}", wait_until="domcontentloaded")
                page.get_by_text(text).first.wait_for(timeout=90_000)
                seen.append(text)
        finally:
            browser.close()
    return seen


def test_end_to_end_makes_no_outbound_connection(tmp_path):
    log = tmp_path / "guard.jsonl"
    env = _env(tmp_path, log)
    folder = tmp_path / "kb"
    for name, text in KB_FILES.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(text, encoding="utf-8")
    draft_file = tmp_path / "草稿.txt"
    draft_file.write_text(WEAK, encoding="utf-8")

    ingest = _run(["kb", "ingest", str(folder)], env)
    assert ingest.returncode == 0, ingest.stderr
    assert "新增 3 个文件" in ingest.stdout

    critique = _run(["critique", str(draft_file)], env)
    assert critique.returncode == 1, critique.stderr  # the weak draft has error-level findings
    assert "有时" in critique.stdout

    with FakeOpenAIServer() as server:
        server.responder = draft_responder  # answers each small drafting job, as a cooperative model would
        out = tmp_path / "草稿输出.md"
        draft_env = {**env, "OPENAI_BASE_URL": server.base_url, "OPENAI_API_KEY": "sk-guard-test"}
        drafted = _run(["draft", "examples/facts/mini.yaml", "--model", "openai", "-o", str(out)], draft_env)
        assert drafted.returncode == 0, drafted.stderr
        assert server.requests, "the draft command never reached the local model server"
    assert MINI_TITLE in out.read_text(encoding="utf-8")

    evaluated = _run(["eval-critic"], env)
    assert evaluated.returncode == 0, evaluated.stderr
    assert "总体" in evaluated.stdout

    app, port = _start_app(env, tmp_path / "streamlit.log")
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as resp:
            assert resp.status == 200 and b"<html" in resp.read().lower()
        assert _listeners(port) == {"127.0.0.1"}
        seen = _open_pages(port)
    finally:
        stop_group(app)

    records = _records(log)
    blocked = [r for r in records if "blocked" in r]
    assert blocked == [], f"outbound attempts: {blocked}"
    exits = [r for r in records if "exit" in r]
    assert len(exits) >= 5, f"the guard was not active in every process: {exits}"  # 4 CLI runs + the app
    for snapshot in (r for r in exits if r["rag_imported"]):
        assert {k: snapshot["env"][k] for k in OFF} == OFF, snapshot
    app_exit = next(r for r in exits if "streamlit" in r)
    assert app_exit["streamlit"] == {"browser.gatherUsageStats": False, "server.address": "127.0.0.1"}
    if CHROMIUM.exists():
        assert seen == ["离线模式", "知识库"]
        assert app_exit["rag_imported"]


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost", "127.5.5.5"])
def test_guard_treats_loopback_as_local(host):
    import importlib.util

    spec = importlib.util.spec_from_file_location("outbound_guard", GUARD / "sitecustomize.py")
    guard = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(guard)  # without ZHAOJING_GUARD_LOG it patches nothing
    assert guard.is_local(host)
    assert not guard.is_local("8.8.8.8") and not guard.is_local("api.deepseek.com")
