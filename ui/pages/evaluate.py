"""批量评测 page: run the critic over a labelled dataset, per-family precision/recall, compare runs."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from rag.critic.api import critique_many
from rag.evals.critic_quality import match_case, summarise
from ui import common

common.ensure_app_shell()

RUNS = "eval_runs"


def critique_case(case: dict, use_kb: bool) -> tuple[dict, object]:
    """Critique one case and match it against its labels; returns (table row, CaseResult)."""
    [report] = critique_many({case["id"]: case["text"]}, year=case.get("year"),
                             meeting_type=case.get("meeting_type"), use_kb=use_kb)
    result = match_case(case, [f.model_dump() for f in report.findings])
    row = {"编号": case["id"], "发现": len(report.findings), "命中": len(result.tp), "误报": len(result.fp),
           "漏报": len(result.fn), "不计分": len(result.unscored), "得分": report.summary["score"]}
    return row, result


def run_dataset(path: Path, use_kb: bool) -> dict:
    """Run every case with a progress bar and a live table; returns the run record."""
    cases = common.load_cases(path)
    bar = st.progress(0.0, text=f"共 {len(cases)} 条")
    table = st.empty()
    rows, results = [], []
    for i, case in enumerate(cases, start=1):
        row, result = critique_case(case, use_kb)
        rows.append(row)
        results.append(result)
        bar.progress(i / len(cases), text=f"已完成 {i}/{len(cases)}：{case['id']}")
        table.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")
    number = len(st.session_state.get(RUNS, [])) + 1
    name = f"第{number}次 · {path.stem} · {dt.datetime.now():%H:%M:%S}"
    return {"name": name, "dataset": path.name, "rows": rows, "results": results,
            "summary": summarise(results, cases)}


def chart(summary: dict) -> None:
    """Horizontal grouped bars of precision and recall per rule family (Chinese labels read horizontally)."""
    data = common.chart_frame(summary)
    if data.empty:
        st.caption("没有可计算的指标。")
        return
    bars = alt.Chart(data).mark_bar().encode(
        y=alt.Y("规则族:N", sort=None, title=None),
        yOffset=alt.YOffset("指标:N", sort=["精确率", "召回率"]),
        x=alt.X("数值:Q", scale=alt.Scale(domain=[0, 1]), title=None, axis=alt.Axis(format="%", tickCount=5)),
        color=alt.Color("指标:N", scale=alt.Scale(domain=["精确率", "召回率"], range=["#8b1e1e", "#2874a6"]),
                        title="指标", legend=alt.Legend(orient="top")),
        tooltip=["规则族", "指标", alt.Tooltip("数值:Q", format=".2f")],
    )
    st.altair_chart(bars, width="stretch")


def show_run(run: dict) -> None:
    """Metrics, chart and downloads of one run."""
    overall = run["summary"]["overall"]
    c1, c2, c3 = st.columns(3)
    c1.metric("总体精确率", f"{overall['precision']:.1%}")
    c2.metric("总体召回率", f"{overall['recall']:.1%}")
    c3.metric("F1", f"{overall['f1']:.3f}")
    metrics = common.metrics_frame(run["summary"])
    st.dataframe(common.rates_for_display(metrics), hide_index=True, width="stretch")
    chart(run["summary"])
    with st.expander("逐条结果"):
        st.dataframe(pd.DataFrame(run["rows"]), hide_index=True, width="stretch")
    d1, d2 = st.columns(2)
    d1.download_button("下载 CSV", metrics.to_csv(index=False).encode("utf-8-sig"), file_name="照镜评测指标.csv",
                       mime="text/csv", key="dl_csv")
    d2.download_button("下载 HTML 报告", common.eval_report_html(run), file_name="照镜评测报告.html",
                       mime="text/html", key="dl_eval_html")


def compare(runs: list[dict]) -> None:
    """Side-by-side metrics of two runs with deltas."""
    st.subheader("比较两次运行")
    if len(runs) < 2:
        st.caption("运行两次以上（例如修改规则或配置前后）即可在这里比较。")
        return
    names = [r["name"] for r in runs]
    c1, c2 = st.columns(2)
    a = c1.selectbox("运行 A", names, index=len(names) - 2, key="cmp_a")
    b = c2.selectbox("运行 B", names, index=len(names) - 1, key="cmp_b")
    by_name = {r["name"]: r for r in runs}
    table = common.compare_frame(by_name[a]["summary"], by_name[b]["summary"])
    st.dataframe(common.rates_for_display(table, signed=[c for c in table.columns if c.endswith("变化")]), hide_index=True,
                 width="stretch")


st.title("批量评测")
st.caption("用标注好的评测集检验批改器：每个规则族的精确率（报得准不准）和召回率（漏没漏）。")
datasets = common.critic_datasets()
if not datasets:
    st.info(f"{common.datasets_dir()} 下还没有批改评测数据集（如 critique_dev.yaml，每条用例含 text 和 expected）。")
else:
    path = st.selectbox("评测数据集", datasets, format_func=lambda p: p.name, key="dataset")
    use_kb = st.checkbox("同时检查与知识库雷同（较慢；雷同、引文类不计分）", key="eval_use_kb")
    if st.button("运行评测", type="primary", key="run_eval"):
        with common.user_errors():
            run = run_dataset(path, use_kb)
            st.session_state.setdefault(RUNS, []).append(run)
runs = st.session_state.get(RUNS, [])
if runs:
    st.subheader(f"结果：{runs[-1]['name']}")
    show_run(runs[-1])
    compare(runs)
