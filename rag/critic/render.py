"""Render critique reports as plain text, JSON or a self-contained HTML page with in-place highlights."""

from __future__ import annotations

import html
import json

from rag.critic.engine import Report
from rag.critic.model import LEVEL_LABELS
from rag.critic.parse import PART_LABELS

LEVEL_COLOURS = {"error": "#f8d7da", "warning": "#fff3cd", "suggestion": "#d1ecf1"}
LEVEL_BORDERS = {"error": "#c0392b", "warning": "#b7950b", "suggestion": "#2874a6"}
INFERRED_LABELS = {"year": "年度", "meeting_type": "材料类型", "frame": "框架"}


def context_line(report: Report) -> str:
    """One Chinese line describing the year, type and frame used, marking what was inferred."""
    c = report.context

    def mark(key: str, value: object) -> str:
        return f"{value}（自动识别）" if key in c.inferred else str(value)

    year = f"{c.year}年度" if c.year else "未识别"
    return (
        f"年度：{mark('year', year)}；类型：{mark('meeting_type', c.meeting_type or '未识别')}；"
        f"框架：{mark('frame', c.frame_name or '未匹配')}"
    )


def to_text(report: Report) -> str:
    """A plain-text report for terminals and logs."""
    s = report.summary
    lines = [
        f"== {report.name or '草稿'} ==",
        context_line(report),
        f"得分：{s['score']} —— {s['grade']}；"
        + "，".join(f"{LEVEL_LABELS[k]} {v} 条" for k, v in s["levels"].items()),
    ]
    for f in report.findings:
        lines.append(
            f"[{LEVEL_LABELS[f.level]}] {f.rule} ({PART_LABELS.get(f.part, f.part)} {f.start}-{f.end}) "
            f"“{f.quote[:40]}”\n    {f.message}{'（' + f.detail + '）' if f.detail else ''}\n    建议：{f.suggestion}"
        )
    if not report.findings:
        lines.append("没有发现问题。")
    return "\n".join(lines)


def to_json(reports: list[Report]) -> str:
    """JSON: one object per file with findings and summary."""
    data = [r.to_json() for r in reports]
    return json.dumps(data[0] if len(data) == 1 else data, ensure_ascii=False, indent=2)


def highlight_html(text: str, findings) -> str:
    """The draft as HTML with every finding's span wrapped in a coloured <mark> (outermost wins on overlap)."""
    spans = sorted(findings, key=lambda f: (f.start, -f.end))
    out, pos = [], 0
    for i, f in enumerate(spans):
        if f.start < pos:
            continue
        out.append(html.escape(text[pos:f.start]))
        title = html.escape(f"{LEVEL_LABELS[f.level]}｜{f.rule}｜{f.message}")
        out.append(
            f'<mark class="f-{f.level}" data-rule="{f.rule}" title="{title}" id="m{i}">'
            f"{html.escape(text[f.start:f.end])}</mark>"
        )
        pos = f.end
    out.append(html.escape(text[pos:]))
    return "".join(out).replace("\n", "<br>\n")


CSS = """
body{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;max-width:1100px;margin:2em auto;color:#222;line-height:1.8}
.doc{border:1px solid #ddd;padding:1.2em;border-radius:6px;background:#fff}
mark{border-bottom:2px solid;padding:0 1px}
""" + "".join(
    f".f-{k}{{background:{v};border-color:{LEVEL_BORDERS[k]}}}" for k, v in LEVEL_COLOURS.items()
) + """
.finding{border-left:4px solid #999;padding:.3em .8em;margin:.6em 0;background:#fafafa}
.finding.error{border-color:#c0392b}.finding.warning{border-color:#b7950b}.finding.suggestion{border-color:#2874a6}
.meta{color:#666;font-size:.9em}
"""


def to_html(reports: list[Report], texts: list[str]) -> str:
    """A self-contained HTML page: per draft, the highlighted text and the findings list."""
    body = []
    for rep, text in zip(reports, texts, strict=True):
        s = rep.summary
        items = "".join(
            f'<div class="finding {f.level}"><b>[{LEVEL_LABELS[f.level]}] {html.escape(f.message)}</b>'
            f'<div class="meta">{f.rule}｜{PART_LABELS.get(f.part, f.part)}｜“{html.escape(f.quote[:60])}”'
            f'{"｜" + html.escape(f.detail) if f.detail else ""}</div>'
            f"<div>建议：{html.escape(f.suggestion)}</div><div class=\"meta\">依据：{html.escape(f.basis)}</div></div>"
            for f in rep.findings
        ) or "<p>没有发现问题。</p>"
        body.append(
            f"<h2>{html.escape(rep.name or '草稿')}</h2><p class=\"meta\">{html.escape(context_line(rep))}</p>"
            f"<p><b>得分 {s['score']}</b>：{html.escape(s['grade'])}</p>"
            f'<div class="doc">{highlight_html(text, rep.findings)}</div><h3>问题清单</h3>{items}'
        )
    return (
        "<!doctype html><html lang=\"zh-CN\"><head><meta charset=\"utf-8\"><title>照镜批改报告</title>"
        f"<style>{CSS}</style></head><body><h1>照镜批改报告</h1>{''.join(body)}"
        "<p class=\"meta\">得分说明：满分100，每条错误扣8分、警告扣3分、建议扣1分；85分以上基本可用，60–84分需修改，60分以下建议重写。"
        "得分只是粗略提示，请逐条看问题清单。</p></body></html>"
    )
