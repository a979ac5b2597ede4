"""Drafting benchmark on the embedded model: one full draft per example facts file.

    .venv/bin/python benchmarks/bench_draft.py            # the 6 default files, no knowledge base
    .venv/bin/python benchmarks/bench_draft.py --kb       # with retrieval from the local knowledge base
    .venv/bin/python benchmarks/bench_draft.py examples/facts/mini.yaml
    .venv/bin/python benchmarks/bench_draft.py --read-ahead   # first prompt read before each draft, as the app
                                                              # does while the user looks over the facts

The model is loaded and warmed up (rag.draft.pipeline.warm_up, as the app does at start) before the
first draft; that time is printed on its own. Prints per draft: seconds, seconds to the first draft text
shown (the opening, rendered from the facts), seconds to the first model token,
LLM requests, tokens, fact coverage, unsupported tokens in 问题/原因 (recomputed on the final text by
rag.draft.quality, independent of the guard), guard events, critic findings by level and the
error-level findings that are not on our own gap markers. Figures only, no assertions.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_FILES = [
    "mini.yaml",
    "banzi-2023-baizhou-jiaoyu.yaml",
    "banzi-2025-lanxi-nongye.yaml",
    "geren-2024-heting-yiyuan.yaml",
    "geren-2025-lanxi-fujuzhang.yaml",
    "zhibu-2024-lanxi-chengtou.yaml",
]
COLUMNS = ["文件", "预读秒", "秒", "首现秒", "首字秒", "调用", "tokens", "事实覆盖", "无依据", "拦截", "错误", "警告", "建议",
           "非标记错误"]


def run_one(path: Path, model, kb, ahead: bool = False) -> dict:
    """Draft one facts file and measure it (``ahead``: after reading its first prompt ahead, timed apart)."""
    from rag.draft.facts import load_facts
    from rag.draft.pipeline import DraftInterrupted, draft_from_facts, read_ahead
    from rag.draft.quality import critic_errors, critic_levels, unsupported_tokens

    facts = load_facts(path)
    started = time.perf_counter()
    if ahead:
        read_ahead(facts, model, kb)
    ahead_s = round(time.perf_counter() - started, 1)
    started = time.perf_counter()
    try:
        draft = draft_from_facts(facts, model, kb=kb, on_event=lambda kind, payload: None)  # streamed
        note = ""
    except DraftInterrupted as exc:
        draft, note = exc.partial, f"中断：{exc.message}"
    seconds = time.perf_counter() - started
    levels = critic_levels(draft, facts)
    _, other = critic_errors(draft, facts)
    s = draft.stats
    return {
        "文件": path.name, "预读秒": ahead_s, "秒": round(seconds, 1), "首现秒": s.get("first_text_s"), "首字秒": s.get("first_token_s"),
        "调用": s.get("llm_calls"),
        "tokens": s.get("tokens"), "事实覆盖": s.get("fact_coverage"), "无依据": len(unsupported_tokens(draft, facts)),
        "拦截": s.get("guard_events"), "错误": levels.get("error", 0), "警告": levels.get("warning", 0),
        "建议": levels.get("suggestion", 0), "非标记错误": len(other), "note": note, "other": other,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="facts files (default: 6 example files)")
    parser.add_argument("--kb", action="store_true", help="retrieve from the local knowledge base")
    parser.add_argument("--read-ahead", action="store_true", help="read each draft's first prompt before timing it")
    args = parser.parse_args()
    os.environ.setdefault("ZHAOJING_LLM", "embedded")

    from rag.config import get_settings
    from rag.llm import get_chat_model

    files = [Path(f) for f in args.files] or [ROOT / "examples/facts" / f for f in DEFAULT_FILES]
    model = get_chat_model(get_settings().model_copy(update={"llm": "embedded"}))
    kb = None
    if args.kb:
        from rag.kb.store import get_kb

        kb = get_kb()
    from rag.draft.pipeline import warm_up

    t = time.perf_counter()
    model.load()
    loaded = time.perf_counter() - t
    warm_up(model)
    print(f"模型 {Path(model.model_path).name}，线程 {model.n_threads or '自动'}，知识库 {'开' if kb else '关'}，"
          f"加载 {loaded:.1f} 秒、预读 {time.perf_counter() - t - loaded:.1f} 秒，负载 {os.getloadavg()[0]:.1f}",
          flush=True)
    print("\t".join(COLUMNS), flush=True)
    rows = []
    for path in files:
        row = run_one(path, model, kb, args.read_ahead)
        rows.append(row)
        print("\t".join(str(row[c]) for c in COLUMNS) + (f"\t{row['note']}" if row["note"] else ""), flush=True)
        for label in row["other"]:
            print(f"    非标记错误 {label}", flush=True)
    _summary(rows)


def _summary(rows: list[dict]) -> None:
    seconds = [r["秒"] for r in rows]
    firsts = [r["首字秒"] for r in rows if r["首字秒"] is not None]
    shown = [r["首现秒"] for r in rows if r["首现秒"] is not None]
    print(f"合计 {len(rows)} 份：每份中位 {statistics.median(seconds):.1f} 秒（最长 {max(seconds):.1f}），"
          f"首现中位 {statistics.median(shown):.2f} 秒，首字中位 {statistics.median(firsts):.1f} 秒（最长 {max(firsts):.1f}），"
          f"无依据合计 {sum(r['无依据'] for r in rows)}，非标记错误合计 {sum(r['非标记错误'] for r in rows)}，"
          f"负载 {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
