"""Readable run reports: a self-contained HTML page (inline SVG charts, no scripts, no network) and CSV.

The page shows the run's configuration, the metric table per system with the better value marked, charts,
the pipeline-versus-baseline verdict per metric group, and a drill-down per case (metrics, missing facts,
banned words, unsupported tokens, critic findings and the draft itself with gap markers highlighted).
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence
from typing import Any

from rag.evals.metrics import GAP_MARK, METRICS
from rag.evals.runner import RunResult

SYSTEM_LABELS = {"pipeline": "照镜流水线", "naive": "朴素基线", "critic": "批改器"}
COLOURS = {"pipeline": "#2f6f4e", "naive": "#b0894f", "critic": "#3d5a80"}
CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;margin:2rem auto;max-width:1100px;color:#222;
line-height:1.6;padding:0 1rem}h1{font-size:1.5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;
margin-top:2rem}table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem}td,th{border:1px solid #ddd;padding:.25rem .6rem;
text-align:left}th{background:#f4f4f1}td.num{text-align:right;font-variant-numeric:tabular-nums}.best{font-weight:700;
color:#1d5c3a}.worse{color:#a33}.meta{color:#666;font-size:.9rem}details{margin:.4rem 0;border:1px solid #e3e3de;
border-radius:4px;padding:.3rem .7rem}summary{cursor:pointer;font-weight:600}pre{white-space:pre-wrap;background:#fafaf7;
padding:.6rem;border-radius:4px;font-family:inherit}mark{background:#fde68a}.err{color:#a33}.chip{display:inline-block;
padding:0 .4rem;border-radius:3px;background:#eef;margin-right:.3rem;font-size:.8rem}
"""


def _e(x: Any) -> str:
    return html.escape(str(x))


def fmt(value: Any) -> str:
    """Numbers with up to three decimals; missing values as “—”."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if value != int(value) else str(int(value))
    return str(value)


def bar_chart(title: str, labels: Sequence[str], series: dict[str, Sequence[float | None]], vmax: float | None = None) -> str:
    """A horizontal grouped bar chart as inline SVG (one group per label, one bar per series)."""
    values = [v for vs in series.values() for v in vs if v is not None]
    vmax = vmax or max(values + [1e-9])
    bar_h, gap, left, width = 12, 10, 260, 380
    group_h = bar_h * len(series) + gap
    height = 30 + group_h * len(labels) + 24
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{left + width + 80}" height="{height}" role="img" '
           f'aria-label="{_e(title)}"><text x="0" y="16" font-size="14" font-weight="600">{_e(title)}</text>']
    for i, label in enumerate(labels):
        y0 = 30 + i * group_h
        out.append(f'<text x="{left - 8}" y="{y0 + group_h / 2}" font-size="12" text-anchor="end">{_e(label)}</text>')
        for j, (name, vs) in enumerate(series.items()):
            v = vs[i]
            w = 0 if v is None else max(1.0, width * min(v, vmax) / vmax)
            y = y0 + j * bar_h
            out.append(f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{bar_h - 2}" fill="{COLOURS.get(name, "#777")}">'
                       f'<title>{_e(SYSTEM_LABELS.get(name, name))}：{fmt(v)}</title></rect>'
                       f'<text x="{left + w + 4:.1f}" y="{y + bar_h - 3}" font-size="10">{fmt(v)}</text>')
    ly = height - 10
    for j, name in enumerate(series):
        x = left + j * 120
        out.append(f'<rect x="{x}" y="{ly - 9}" width="10" height="10" fill="{COLOURS.get(name, "#777")}"/>'
                   f'<text x="{x + 14}" y="{ly}" font-size="11">{_e(SYSTEM_LABELS.get(name, name))}</text>')
    out.append("</svg>")
    return "".join(out)


def _metric_rows(summary: dict) -> tuple[list[str], list[str]]:
    systems = list(summary.get("systems", {}))
    names = [m for m in METRICS if any(m in summary["systems"][s]["metrics"] for s in systems)]
    return systems, names


def metric_table(summary: dict) -> str:
    """The per-system mean of every metric, the better system's value in bold."""
    systems, names = _metric_rows(summary)
    head = "".join(f"<th>{_e(SYSTEM_LABELS.get(s, s))}</th>" for s in systems)
    rows = []
    for m in names:
        meta = METRICS[m]
        vals = [summary["systems"][s]["metrics"].get(m) for s in systems]
        real = [v for v in vals if v is not None]
        best = (max(real) if meta.direction > 0 else min(real)) if len(real) > 1 and len(set(real)) > 1 else None
        cells = "".join(f'<td class="num{" best" if v is not None and v == best else ""}">{fmt(v)}</td>' for v in vals)
        arrow = "↑" if meta.direction > 0 else "↓"
        rows.append(f"<tr><td>{_e(meta.group)}</td><td>{_e(meta.label)} {arrow}</td><td><code>{_e(m)}</code></td>{cells}</tr>")
    return f"<table><tr><th>类别</th><th>指标（↑越高越好，↓越低越好）</th><th>编号</th>{head}</tr>{''.join(rows)}</table>"


def verdict(summary: dict, a: str = "pipeline", b: str = "naive") -> dict[str, str]:
    """Per metric group: does ``a`` beat ``b`` (better on more metrics of the group than worse)?"""
    sa, sb = summary["systems"].get(a), summary["systems"].get(b)
    if not sa or not sb:
        return {}
    groups: dict[str, list[int]] = {}
    for m, meta in METRICS.items():
        va, vb = sa["metrics"].get(m), sb["metrics"].get(m)
        if va is None or vb is None or meta.group == "开销":
            continue
        groups.setdefault(meta.group, []).append((va > vb) - (va < vb) if meta.direction > 0 else (va < vb) - (va > vb))
    labels = {1: "胜", 0: "持平", -1: "负"}
    return {g: labels[(sum(v) > 0) - (sum(v) < 0)] for g, v in groups.items()}


def _charts(summary: dict) -> str:
    systems, names = _metric_rows(summary)
    rates = [m for m in names if METRICS[m].unit == "" and not m.startswith(("specificity.cliche", "specificity.hedge"))]
    counts = [m for m in names if METRICS[m].unit in ("处", "条")]
    out = []
    if rates:
        out.append(bar_chart("比例类指标（0–1）", [METRICS[m].label for m in rates],
                             {s: [summary["systems"][s]["metrics"].get(m) for m in rates] for s in systems}, vmax=1.0))
    if counts:
        out.append(bar_chart("计数类指标（每份草稿平均，越低越好）", [METRICS[m].label for m in counts],
                             {s: [summary["systems"][s]["metrics"].get(m) for m in counts] for s in systems}))
    return "".join(f"<div>{c}</div>" for c in out)


def _critic_section(summary: dict) -> str:
    critic = summary.get("critic")
    if not critic:
        return ""
    fams = {k: v for k, v in critic["families"].items() if v["labels"] or v["tp"] or v["fp"]}
    rows = "".join(
        f"<tr><td>{_e(k)}</td><td class='num'>{v['labels']}</td><td class='num'>{v['tp']}</td><td class='num'>{v['fp']}</td>"
        f"<td class='num'>{fmt(v['precision'])}</td><td class='num'>{fmt(v['recall'])}</td><td class='num'>{fmt(v['f1'])}</td></tr>"
        for k, v in fams.items())
    o = critic["overall"]
    chart = bar_chart("各规则族召回率", list(fams), {"critic": [v["recall"] for v in fams.values()]}, vmax=1.0)
    return (f"<h2>批改器质量</h2><p>总体：精确率 <b>{fmt(o['precision'])}</b>，召回率 <b>{fmt(o['recall'])}</b>，"
            f"F1 <b>{fmt(o['f1'])}</b>（命中 {o['tp']}，误报 {o['fp']}，标注 {o['labels']}，找到 {o['found']}）。</p>"
            f"<table><tr><th>规则族</th><th>标注数</th><th>命中</th><th>误报</th><th>精确率</th><th>召回率</th><th>F1</th></tr>"
            f"{rows}</table><div>{chart}</div>")


def _highlight(text: str) -> str:
    out, last = [], 0
    for m in GAP_MARK.finditer(text):
        out += [_e(text[last:m.start()]), f"<mark>{_e(m.group(0))}</mark>"]
        last = m.end()
    out.append(_e(text[last:]))
    return "".join(out)


def _case_block(case_id: str, records: list[dict]) -> str:
    parts = [f"<details><summary>{_e(case_id)}</summary>"]
    for r in records:
        name = SYSTEM_LABELS.get(r["system"], r["system"])
        parts.append(f"<h3>{_e(name)}</h3>")
        if r.get("error"):
            parts.append(f"<p class='err'>出错：{_e(r['error'])}</p>")
        metrics = r.get("metrics") or {}
        cells = "".join(f"<tr><td>{_e(METRICS[m].label if m in METRICS else m)}</td><td class='num'>{fmt(v)}</td></tr>"
                        for m, v in metrics.items())
        parts.append(f"<table>{cells}</table>")
        d = r.get("details") or {}
        for key, label in (("facts_missing", "未用到的事实"), ("must_not_hits", "出现的禁止内容"),
                           ("unsupported", "无依据的数字/日期/名称"), ("misses", "漏报"), ("false_alarms", "误报")):
            if d.get(key):
                items = "".join(f"<span class='chip'>{_e(x if isinstance(x, str) else x.get('quote') or x.get('family') or x)}"
                                f"{'' if isinstance(x, str) else ' · ' + _e(x.get('rule') or x.get('family') or '')}</span>"
                                for x in d[key])
                parts.append(f"<p>{label}：{items}</p>")
        findings = [f for f in d.get("findings", []) if f.get("level") in ("error", "warning")]
        if findings and r["system"] != "critic":
            lis = "".join(f"<li>[{_e(f['level'])}] <code>{_e(f['rule'])}</code> {_e(f.get('quote', ''))[:80]}</li>"
                          for f in findings[:30])
            parts.append(f"<details><summary>批改意见（{len(findings)}）</summary><ul>{lis}</ul></details>")
        if r.get("text"):
            parts.append(f"<details><summary>草稿全文</summary><pre>{_highlight(r['text'])}</pre></details>")
    parts.append("</details>")
    return "".join(parts)


def render_html(run: RunResult) -> str:
    """The whole report page."""
    cfg, summary = run.config, run.summary
    systems = "、".join(SYSTEM_LABELS.get(s, s) for s in cfg.get("systems", []))
    head = (f"<h1>照镜评测报告：{_e(run.run_id)}</h1><p class='meta'>数据集 {_e(cfg.get('dataset', ''))} · "
            f"{len(cfg.get('cases', []))} 个用例 · 对象 {_e(systems)} · 模型 {_e(cfg.get('model', ''))} · "
            f"代码版本 {_e(cfg.get('code', ''))} · 开始于 {_e(cfg.get('started', ''))} · 完成于 {_e(summary.get('finished', ''))}</p>")
    body = [head]
    if summary.get("unfinished"):
        body.append(f"<p class='err'>本次运行到达时间上限，还有 {summary['unfinished']} 项未做；下表只统计已完成的用例。</p>")
    errs = {s: v["errors"] for s, v in summary.get("systems", {}).items() if v.get("errors")}
    if errs:
        body.append("<p class='err'>有用例出错：" + "，".join(f"{SYSTEM_LABELS.get(s, s)} {n} 个" for s, n in errs.items())
                    + "（见下方明细）。</p>")
    v = verdict(summary)
    if v:
        body.append("<h2>流水线与朴素基线对比</h2><table><tr>" + "".join(f"<th>{_e(g)}</th>" for g in v) + "</tr><tr>"
                    + "".join(f"<td class='{'best' if r == '胜' else 'worse' if r == '负' else ''}'>{r}</td>" for r in v.values())
                    + "</tr></table><p class='meta'>同一批用例、同一模型；基线是“一个提示词 + 事实 + 检索段落”，无槽位、无校验、无修订。</p>")
    if cfg.get("kind") == "drafting":
        body += ["<h2>指标汇总（各用例平均）</h2>", metric_table(summary), _charts(summary)]
    body.append(_critic_section(summary))
    by_case: dict[str, list[dict]] = {}
    for r in run.records:
        by_case.setdefault(r["case"], []).append(r)
    body.append("<h2>逐个用例</h2>" + "".join(_case_block(c, rs) for c, rs in by_case.items()))
    return (f"<!doctype html><html lang='zh-CN'><head><meta charset='utf-8'><title>照镜评测报告 {_e(run.run_id)}</title>"
            f"<style>{CSS}</style></head><body>{''.join(body)}</body></html>")


def render_csv(run: RunResult) -> str:
    """One row per case and system with every metric (UTF-8 with BOM so Excel shows Chinese)."""
    names = [m for m in METRICS if any(m in (r.get("metrics") or {}) for r in run.records)]
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["用例", "对象", "出错", *[f"{METRICS[m].label}（{m}）" for m in names]])
    for r in run.records:
        w.writerow([r["case"], SYSTEM_LABELS.get(r["system"], r["system"]), r.get("error") or "",
                    *[fmt((r.get("metrics") or {}).get(m)) for m in names]])
    return "\ufeff" + buf.getvalue()
