"""批量评测 page: run a dataset (drafting: pipeline vs baseline; critique: the critic) with live progress,
charts, downloads, comparison of two saved runs, and adding one's own dataset. Logic lives in rag.evals."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from rag.app_support import dataset_label, eval_datasets, eval_datasets_dir
from rag.evals.compare import as_dict, compare_runs
from rag.evals.datasets import add_dataset
from rag.evals.report import SYSTEM_LABELS, render_csv, render_html, verdict
from rag.evals.runner import list_runs, load_run, run_eval
from ui import common

LAST = "eval_last_run"


def live_row(rec: dict) -> dict:
    """One line of the live table while a run is going."""
    m = rec.get("metrics") or {}
    row = {"编号": rec["case"], "对象": SYSTEM_LABELS.get(rec["system"], rec["system"]),
           "状态": "出错：" + rec["error"] if rec.get("error") else ("缓存" if rec.get("cached") else "完成")}
    keys = ("critic.precision", "critic.recall") if rec["system"] == "critic" else (
        "grounding.fact_coverage", "grounding.unsupported", "critic.errors", "gaps.count")
    row.update({common.metric_label(k): m.get(k) for k in keys})
    return row


def run(ds, systems: list[str], use_kb: bool, concurrency: int):
    """Run with a progress bar and a live per-case table; returns the RunResult."""
    total = len(ds.cases) * (len(systems) if ds.kind == "drafting" else 1)
    bar = st.progress(0.0, text=f"共 {total} 项")
    table = st.empty()
    rows: list[dict] = []

    def progress(done: int, total: int, rec: dict) -> None:
        rows.append(live_row(rec))
        bar.progress(done / total, text=f"已完成 {done}/{total}：{rec['case']}")
        table.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch")

    model = common.get_model() if ds.kind == "drafting" else None
    kb = common.kb_or_none() if use_kb and ds.kind == "drafting" else None
    label = common.backend_label(common.effective_settings())
    return run_eval(ds, model=model, model_label=label, systems=systems if ds.kind == "drafting" else None,
                    kb=kb, concurrency=concurrency, progress=progress)


def critic_view(summary: dict) -> None:
    """Overall cards, the per-family table and chart of a critique run."""
    critic = summary["critic"]
    o = critic["overall"]
    c1, c2, c3 = st.columns(3)
    c1.metric("总体精确率", f"{o['precision']:.1%}")
    c2.metric("总体召回率", f"{o['recall']:.1%}")
    c3.metric("F1", f"{o['f1']:.3f}")
    st.dataframe(common.rates_for_display(common.metrics_frame(critic)), hide_index=True, width="stretch")
    data = common.chart_frame(critic)
    if data.empty:
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


def drafting_view(summary: dict) -> None:
    """Verdict against the baseline, the metric table and a chart of the rate metrics."""
    v = verdict(summary)
    if v:
        cols = st.columns(len(v))
        for col, (group, result) in zip(cols, v.items(), strict=True):
            col.metric(f"{group}（对比基线）", result)
    table = common.drafting_metrics_frame(summary)
    st.dataframe(table, hide_index=True, width="stretch")
    rates = common.drafting_chart_frame(summary)
    if not rates.empty:
        chart = alt.Chart(rates).mark_bar().encode(
            y=alt.Y("指标:N", sort=None, title=None), yOffset=alt.YOffset("对象:N"),
            x=alt.X("数值:Q", scale=alt.Scale(domain=[0, 1]), title=None),
            color=alt.Color("对象:N", scale=alt.Scale(range=["#2f6f4e", "#b0894f"]), legend=alt.Legend(orient="top")),
            tooltip=["指标", "对象", alt.Tooltip("数值:Q", format=".3f")],
        )
        st.altair_chart(chart, width="stretch")


def show(result) -> None:
    """The finished run: summary views, per-case table and downloads."""
    st.subheader(f"结果：{result.run_id}")
    if result.config.get("kind") == "critique":
        critic_view(result.summary)
    else:
        drafting_view(result.summary)
    with st.expander("逐个用例"):
        st.dataframe(pd.DataFrame([live_row(r) for r in result.records]), hide_index=True, width="stretch")
    d1, d2 = st.columns(2)
    d1.download_button("下载 CSV", render_csv(result).encode("utf-8"), file_name=f"{result.run_id}.csv",
                       mime="text/csv", key="dl_csv")
    d2.download_button("下载 HTML 报告", render_html(result), file_name=f"{result.run_id}.html", mime="text/html",
                       key="dl_eval_html")


def compare_section() -> None:
    """Pick two saved runs and show which metrics moved and which cases regressed."""
    st.subheader("比较两次运行")
    runs = [p.name for p in list_runs()]
    if len(runs) < 2:
        st.caption("运行两次以上（例如修改提示词、规则或模型前后）即可在这里比较。")
        return
    c1, c2 = st.columns(2)
    a = c1.selectbox("运行 A（基准）", runs, index=1, key="cmp_a")
    b = c2.selectbox("运行 B（新）", runs, index=0, key="cmp_b")
    cmp = as_dict(compare_runs(load_run(a), load_run(b)))
    table = common.compare_table(cmp)
    st.dataframe(table, hide_index=True, width="stretch")
    if cmp["regressed"]:
        st.warning(f"有 {len(cmp['regressions'])} 项指标退步超出容差；退步的用例："
                   + ("、".join(sorted({r['case'] for r in cmp['case_regressions']})) or "无"))
    else:
        st.success("没有超出容差的退步。")


st.title("批量评测")
st.caption("起草数据集：照镜流水线与朴素基线在同一批用例上并排比较；批改数据集：各规则族的精确率和召回率。"
           "结果按用例缓存，中断后重跑会接着做。")
datasets = eval_datasets()
with st.expander("加入自己的数据集（YAML/JSON）"):
    up = st.file_uploader("数据集文件", type=["yaml", "yml", "json"], key="ds_upload")
    if up is not None and st.button("校验并加入", key="ds_add"):
        with common.user_errors():
            st.success(f"已加入：{add_dataset(up.getvalue(), up.name).name}")
            datasets = eval_datasets()
if not datasets:
    st.info(f"{eval_datasets_dir()} 下还没有可用的评测数据集（起草用例见 drafting.yaml，批改用例见 critique_dev.yaml）。")
else:
    names = {dataset_label(d): d for d in datasets}
    choice = names[st.selectbox("评测数据集", list(names), key="dataset")]
    systems, use_kb, conc = ["critic"], False, 1
    if choice.kind == "drafting":
        picked = st.multiselect("评测对象", ["照镜流水线", "朴素基线"], default=["照镜流水线", "朴素基线"], key="systems")
        systems = [{"照镜流水线": "pipeline", "朴素基线": "naive"}[p] for p in picked] or ["pipeline"]
        use_kb = st.checkbox("检索知识库", value=True, key="eval_use_kb")
        conc = st.number_input("并发数（远程模型）", 1, 32, 4, key="eval_conc")
        st.caption(f"模型：{common.backend_label(common.effective_settings())}（在“设置”页更换）")
    if st.button("运行评测", type="primary", key="run_eval"):
        with common.user_errors():
            st.session_state[LAST] = run(choice, systems, use_kb, int(conc)).run_id
if st.session_state.get(LAST):
    with common.user_errors():
        show(load_run(st.session_state[LAST]))
compare_section()
