"""批改 page: paste or upload a draft, critique it, show highlights and findings, download reports."""

from __future__ import annotations

import datetime as dt

import streamlit as st

from rag.critic.api import critique_many
from rag.critic.engine import LEVEL_PENALTY
from rag.critic.model import LEVEL_LABELS, family_label
from rag.critic.parse import PART_LABELS
from rag.critic.render import context_line, highlight_html, to_html
from rag.docx_io import critique_to_docx
from rag.draft.facts import MEETING_TYPES
from rag.uploads import UPLOAD_TYPES, read_draft
from ui import common

AUTO = "自动识别"
RESULT_KEY = "critique_result"
SCORE_HELP = "满分100，" + "、".join(f"{LEVEL_LABELS[k]}扣{v}分" for k, v in LEVEL_PENALTY.items())


def inputs() -> tuple[str | None, str, int | None, str | None, object | None]:
    """The draft text (upload wins over the text box; None when the upload is unreadable), its name,
    and the chosen year, type and frame (None: found from the text)."""
    left, right = st.columns([3, 1])
    with left:
        pasted = st.text_area("粘贴草稿", height=260, key="critique_text",
                              placeholder="把对照检查材料粘贴到这里，或在右侧上传文件")
    with right:
        upload = st.file_uploader("或上传文件", type=list(UPLOAD_TYPES), key="critique_upload",
                                  help="支持 .docx、.txt、.md、.pdf")
        years = [AUTO, *range(dt.date.today().year, 2018, -1)]
        year = st.selectbox("年度", years, key="critique_year")
        meeting_type = st.selectbox("材料类型", [AUTO, *MEETING_TYPES], key="critique_type")
        frame = None
        with common.user_errors():
            frame = common.frame_picker("critique_frame", "按哪个会议的检视方面和必需部分批改；自建的专题会议框架也在这里")
    text, name = pasted, "草稿"
    if upload is not None:
        text, name = None, upload.name
        with common.user_errors():
            text = read_draft(upload.name, upload.getvalue())
            st.caption(f"已读取文件：{upload.name}（{len(text):,} 字）")
    return (text, name, (None if year == AUTO else int(year)), (None if meeting_type == AUTO else meeting_type),
            frame)


def options() -> tuple[object | None, bool]:
    """Optional facts file (turns on fact checking) and deep proofreading."""
    with st.expander("更多选项：核对事实、深度校对"):
        c1, c2 = st.columns(2)
        upload = c1.file_uploader("事实文件（YAML/JSON）", type=["yaml", "yml", "json"], key="critique_facts",
                                  help="上传起草时用的事实文件，逐一核对草稿里的数字、日期、人名、机构和名称是否都有依据")
        deep = c2.checkbox("深度校对（用内置模型逐句查错别字，较慢）", key="critique_proofread")
    facts = None
    if upload is not None:
        with common.user_errors():
            from rag.draft.facts import load_facts

            facts = load_facts(upload.getvalue())
            st.caption(f"将按事实文件核对：{common.facts_summary(facts)}")
    return facts, deep


def show_summary(report) -> None:
    """Score, counts per level and what was assumed about the draft."""
    s = report.summary
    cols = st.columns(4)
    cols[0].metric("得分", s["score"], help=SCORE_HELP)
    for col, level in zip(cols[1:], ("error", "warning", "suggestion"), strict=True):
        col.metric(LEVEL_LABELS[level], f"{s['levels'].get(level, 0)} 条")
    st.markdown(f"**{s['grade']}**")
    st.caption(context_line(report))


def filters(findings) -> list:
    """Level and rule-family filters; returns the findings that pass."""
    levels = ["error", "warning", "suggestion"]
    families = sorted({f.family for f in findings})
    c1, c2 = st.columns(2)
    chosen_levels = c1.multiselect("级别", levels, default=levels, format_func=LEVEL_LABELS.get, key="flt_level",
                                   placeholder="选择级别")
    chosen_fams = c2.multiselect("规则类别", families, default=families, key="flt_family",
                                 format_func=family_label, placeholder="选择规则类别")
    return [f for f in findings if f.level in chosen_levels and f.family in chosen_fams]


def show_findings(findings) -> None:
    """Findings grouped by part, each part in an expander."""
    if not findings:
        st.success("没有符合筛选条件的问题。")
        return
    parts = list(dict.fromkeys(f.part for f in findings))
    for part in parts:
        group = [f for f in findings if f.part == part]
        with st.expander(f"{PART_LABELS.get(part, part)}（{len(group)} 条）", expanded=len(findings) <= 8):
            for f in group:
                st.markdown(f"{common.LEVEL_BADGES[f.level]} **{f.message}**")
                if f.quote:
                    st.markdown(f"> “{f.quote[:120]}”")
                if f.detail:
                    st.caption(f.detail)
                st.markdown(f"建议：{f.suggestion}")
                st.caption(f"依据：{f.basis or '—'}｜{family_label(f.family)}（{f.rule}）")


def downloads(report, text: str) -> None:
    """HTML report and a Word file with one comment per finding (all findings, not just the filtered)."""
    c1, c2 = st.columns(2)
    key = st.session_state.get("critique_runs", 0)
    report_html = common.session_cached("critique_html", key, lambda: to_html([report], [text]))
    docx = common.session_cached("critique_docx", key, lambda: critique_to_docx(text, report.findings))
    c1.download_button("下载 HTML 报告", report_html, file_name="照镜批改报告.html", mime="text/html", key="dl_html")
    c2.download_button("下载带批注的 Word", docx, file_name="照镜批改意见.docx",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                       key="dl_docx")


def results(report, text: str) -> None:
    """Everything shown after a critique."""
    show_summary(report)
    shown = filters(report.findings)
    left, right = st.columns([3, 2])
    with left:
        st.subheader("原文标注")
        st.html(common.highlighted_doc(highlight_html(text, shown)))
    with right:
        st.subheader("问题清单")
        show_findings(shown)
    downloads(report, text)


st.title("批改")
st.caption("逐条指出审阅时会被退回的地方，并在原文中标出位置。材料只在本机处理。")
text, name, year, meeting_type, frame = inputs()
facts, deep = options()
if st.button("批改", type="primary", key="run_critique", disabled=text is None):
    st.session_state.pop(RESULT_KEY, None)
    with common.user_errors(), st.spinner("正在批改…"):
        bar = st.progress(0.0, text="深度校对") if deep else None
        progress = (lambda n, total: bar.progress(n / max(total, 1), text=f"深度校对：第 {n}/{total} 句")) if bar else None
        [report] = critique_many({name: text}, year=year, meeting_type=meeting_type, frame=frame, facts=facts,
                                 proofread=deep, progress=progress)
        if bar:
            bar.empty()
        st.session_state[RESULT_KEY] = (report, text)
        st.session_state["critique_runs"] = st.session_state.get("critique_runs", 0) + 1
if RESULT_KEY in st.session_state:
    results(*st.session_state[RESULT_KEY])
