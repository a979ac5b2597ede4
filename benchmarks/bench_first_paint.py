"""First paint of the app in headless Chromium: seconds from opening the URL until the Chinese navigation and
the 起草 page are visible.

    .venv/bin/python benchmarks/bench_first_paint.py                 # 5 cold starts, 3 reloads after each
    .venv/bin/python benchmarks/bench_first_paint.py --reps 3 --reloads 2
    .venv/bin/python benchmarks/bench_first_paint.py --llm fake      # without the embedded model's warm-up

The app is started the way ``make run`` does (``streamlit run ui/app.py`` on 127.0.0.1, headless, usage
stats off; only the port is a free one instead of 8501) with the project's settings and data dir, so the
embedded model's warm-up starts with the first page run and shares the CPU with it, as for a user.

* **cold**: a fresh server (waited for until ``/_stcore/health`` answers: "once the server is up") and a
  fresh browser context, first visit;
* **warm**: a reload of the same tab on the same server.

Times are taken inside the page (``performance.now()``, from the start of the navigation) by a script that
checks every 10 ms:

* 导航: the sidebar navigation shows the Chinese page names (a link 批改 is visible);
* 标题: the main page's title 起草 is visible;
* 内容: the page's content is there (the 生成草稿 button is visible).

首屏 is the later of 导航 and 标题; the issue's target for it is 3 s. Also reports whether the sidebar ever showed file names
(app, draft, …) instead of the Chinese names. Figures only, no assertions; the VM is shared and its speed
varies, so run it more than once.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
MARKS = ("nav", "title", "content")
LABELS = {"nav": "导航", "title": "标题", "content": "内容"}
FILE_NAMES = {"app", "draft", "critique", "evaluate", "knowledge", "frames", "settings"}
TARGET = 3.0

# Runs before the page's own scripts on every navigation (also on reload): records when each mark first holds.
PROBE = """
(() => {
  const t = {};
  const links = new Set();
  const visible = el => { const r = el.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
  const hasText = (sel, text) => Array.from(document.querySelectorAll(sel))
      .some(el => el.innerText.trim() === text && visible(el));
  const check = () => {
    const now = performance.now();
    document.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]')
        .forEach(a => links.add(a.innerText.trim()));
    const nav = Array.from(document.querySelectorAll('[data-testid="stSidebarNav"] a, [data-testid="stSidebarNavLink"]'))
        .some(a => a.innerText.includes('批改') && visible(a));
    if (t.nav === undefined && nav) t.nav = now;
    if (t.title === undefined && hasText('h1', '起草')) t.title = now;
    if (t.content === undefined && hasText('button', '生成草稿')) t.content = now;
    window.__zjPaint = Object.assign({}, t, {links: Array.from(links)});
    if (t.nav === undefined || t.title === undefined || t.content === undefined) setTimeout(check, 10);
  };
  check();
})();
"""
DONE = "() => { const t = window.__zjPaint; return t && t.nav !== undefined && t.title !== undefined " \
       "&& t.content !== undefined; }"


def start_server(log: Path, llm: str | None) -> tuple[subprocess.Popen, str, float]:
    """``streamlit run ui/app.py`` as ``make run`` starts it; returns the process, its URL and the seconds
    until it answered its health check."""
    env = dict(os.environ, STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
    if llm:
        env["ZHAOJING_LLM"] = llm
    cmd = [sys.executable, "-m", "streamlit", "run", "ui/app.py", "--server.address", "127.0.0.1",
           "--server.port", "0", "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    started = time.monotonic()
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                start_new_session=True)
    deadline = started + 120
    url = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited ({proc.returncode}):\n{log.read_text(errors='replace')}")
        if url is None:
            m = re.search(r"URL: (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
            url = m.group(1) if m else None
        if url is not None:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                    if resp.status == 200:
                        return proc, url, time.monotonic() - started
            except OSError:
                pass
        time.sleep(0.05)
    stop_server(proc)
    raise RuntimeError(f"streamlit did not come up in 120 s:\n{log.read_text(errors='replace')}")


def stop_server(proc: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (it was started in its own session), SIGKILL after 20 s."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


def measure(page, url: str | None = None) -> dict:
    """Open ``url`` (or reload the page when None); return the marks (seconds) and the sidebar link texts seen."""
    if url is None:
        page.reload(wait_until="commit")
    else:
        page.goto(url, wait_until="commit")
    page.wait_for_function(DONE, timeout=120_000, polling=50)
    probe = page.evaluate("window.__zjPaint")
    return {**{k: probe[k] / 1000 for k in MARKS}, "links": probe["links"]}


def fmt(values: list[float]) -> str:
    return "—" if not values else f"{statistics.median(values):5.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5, help="cold starts (a new server each)")
    parser.add_argument("--reloads", type=int, default=3, help="warm reloads after each cold start")
    parser.add_argument("--llm", choices=["embedded", "openai", "fake"], default=None,
                        help="model backend (default: the project's settings, as make run)")
    args = parser.parse_args()

    from playwright.sync_api import sync_playwright

    rows: list[tuple[str, int, dict]] = []
    ups: list[float] = []
    english: set[str] = set()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            for rep in range(1, args.reps + 1):
                proc, url, up = start_server(Path(tmp) / f"streamlit-{rep}.log", args.llm)
                ups.append(up)
                context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
                try:
                    context.add_init_script(PROBE)
                    page = context.new_page()
                    runs = [("cold", measure(page, url))]
                    for _ in range(args.reloads):
                        runs.append(("warm", measure(page)))
                finally:
                    context.close()
                    stop_server(proc)
                for kind, run in runs:
                    rows.append((kind, rep, run))
                    english |= FILE_NAMES & {s.lower() for s in run["links"]}
                    print(f"第{rep}次启动 {'冷启动' if kind == 'cold' else '刷新  '}  "
                          + "  ".join(f"{LABELS[k]} {run[k]:5.2f} 秒" for k in MARKS), flush=True)
                print(f"  服务启动到可访问：{up:.2f} 秒", flush=True)
        finally:
            browser.close()

    backend = args.llm or os.environ.get("ZHAOJING_LLM") or "项目设置（默认内置模型）"
    print(f"\n首屏时间（秒，中位数；模型：{backend}；目标 ≤ {TARGET:g} 秒）")
    print(f"{'':8}{'次数':>4}  " + "  ".join(f"{LABELS[k]:>4}" for k in MARKS) + "  首屏（导航和标题）  最慢首屏")
    for kind, label in (("cold", "冷启动"), ("warm", "刷新")):
        runs = [r for k, _, r in rows if k == kind]
        first = [max(r["nav"], r["title"]) for r in runs]
        print(f"{label:<6}{len(runs):>6}  " + "  ".join(f"{fmt([r[k] for r in runs]):>5}" for k in MARKS)
              + f"  {fmt(first):>16}  {max(first):8.2f}"
              + ("" if statistics.median(first) <= TARGET else "  （中位数超过目标）"))
    print(f"服务启动到可访问（中位数）：{fmt(ups).strip()} 秒")
    print("侧栏出现过文件名：" + ("、".join(sorted(english)) if english else "没有（始终是中文导航）"))


if __name__ == "__main__":
    main()
