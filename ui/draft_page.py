"""The 起草 page's body: facts in (example, upload, form or a chat interview), a streamed draft out, revisions as
saved versions.

``ui/views/draft.py`` paints the title first and then calls :func:`main`: this module's imports (pandas, the
drafting pipeline, the critic) take a second or two on a cold start.
"""

from __future__ import annotations

import datetime as dt
import time

import pandas as pd
import streamlit as st

from rag import interview as iv
from rag.app_support import readable_stream
from rag.critic.api import critique_many
from rag.critic.model import LEVEL_LABELS
from rag.critic.parse import PART_LABELS
from rag.docx_io import draft_to_docx
from rag.draft.facts import CATEGORIES, FACTS_SCHEMA_DOC, MEETING_TYPES, UnitFacts, load_facts
from rag.draft.pipeline import (
    PARTS_TO_REWRITE,
    DraftInterrupted,
    apply_instruction,
    draft_from_facts,
    regenerate_part,
    revise_item,
)
from rag.draft.render import to_markdown
from rag.draft.revise import choose_cause, waiting_causes
from rag.draft.schemas import Draft
from rag.errors import InputError
from rag.frames import facts_with_frame
from ui import common

S = st.session_state
INTERVIEW = "对话采集事实"
SOURCES = ["示例材料", "上传文件", "填写表单", INTERVIEW]
FORM_FACTS = "draft_form_facts"
IV_STATE, IV_ID, IV_EDITS = "interview_state", "interview_id", "interview_edits"
REOPENED = "interview_reopened"


# ------------------------------------------------------------------------------ state

def set_current(draft_id: int, version_no: int, facts: UnitFacts, draft: Draft) -> None:
    """Make a saved version the working draft and put its id in the URL (survives refresh/restart)."""
    S.update(draft_id=draft_id, draft_version=version_no, draft_facts=facts, draft_obj=draft)
    st.query_params["draft"] = str(draft_id)
    st.query_params["v"] = str(version_no)


def open_saved(draft_id: int, version_no: int | None = None) -> None:
    """Load a saved draft version from the store into the session."""
    facts, draft, number = common.load_saved(common.draft_store(), draft_id, version_no)
    set_current(draft_id, number, facts, draft)


def restore_from_url() -> None:
    """After a refresh or restart the session is empty: reopen the draft named in the URL."""
    raw_id, raw_v = st.query_params.get("draft"), st.query_params.get("v")
    if not raw_id or not raw_id.isdigit() or S.get("draft_id") == int(raw_id):
        return
    with common.user_errors():
        open_saved(int(raw_id), int(raw_v) if raw_v and raw_v.isdigit() else None)


def save_new_version(draft: Draft, note: str) -> None:
    """Save ``draft`` as the next version of the current draft and make it current."""
    number = common.draft_store().save_version(S["draft_id"], to_markdown(draft), draft.model_dump_json(), note)
    set_current(S["draft_id"], number, S["draft_facts"], draft)


# ------------------------------------------------------------------------------ facts input

def example_facts() -> UnitFacts | None:
    """An example facts file from examples/facts."""
    files = common.example_files()
    path = st.selectbox("示例事实材料", files, format_func=lambda p: p.name, key="example")
    return load_facts(path) if path else None


def uploaded_facts() -> UnitFacts | None:
    """A facts file (YAML or JSON) uploaded by the user."""
    upload = st.file_uploader("上传事实材料（YAML 或 JSON）", type=["yaml", "yml", "json"], key="facts_upload")
    if upload is None:
        return None
    fmt = "json" if upload.name.lower().endswith(".json") else "yaml"
    return load_facts(upload.getvalue(), fmt=fmt)


def form_facts() -> UnitFacts | None:
    """A simple form: unit, type, year, date, preparation figures and a table of facts."""
    with st.form("facts_form"):
        c1, c2, c3, c4 = st.columns([3, 1, 1, 1])
        form = {
            "unit": c1.text_input("单位（班子或支部名称）", placeholder="如：岚溪县农业农村局领导班子"),
            "meeting_type": c2.selectbox("材料类型", MEETING_TYPES),
            "year": c3.number_input("年度", 2015, 2035, dt.date.today().year - 1),
            "meeting_date": c4.date_input("会议日期", value=None, format="YYYY-MM-DD"),
        }
        p1, p2, p3, p4 = st.columns(4)
        form["study_sessions"] = p1.number_input("学习研讨次数", 0, 10000, value=None)
        form["talks"] = p2.number_input("谈心谈话人次", 0, 100000, value=None)
        form["opinions"] = p3.number_input("征求意见条数", 0, 100000, value=None)
        form["writer_role"] = p4.text_input("撰写人职务分工（个人材料必填）")
        empty = pd.DataFrame([{"id": "F1", "category": "征求意见", "text": "", "source": ""}])
        table = st.data_editor(
            empty, num_rows="dynamic", width="stretch", key="facts_editor",
            column_config={
                "id": st.column_config.TextColumn("编号", required=True),
                "category": st.column_config.SelectboxColumn("类别", options=list(CATEGORIES), required=True),
                "text": st.column_config.TextColumn("事实内容（时间、经过、数字、责任）", width="large"),
                "source": st.column_config.TextColumn("来源"),
            },
        )
        if st.form_submit_button("使用这些事实"):
            S[FORM_FACTS] = common.facts_from_form(form, table)
    return S.get(FORM_FACTS)


# ------------------------------------------------------------------------------ interview (rag.interview)

def new_interview() -> None:
    """Start a new interview, keep it in the draft store and name it in the URL (survives a refresh)."""
    state = iv.start()
    S[IV_STATE], S[IV_ID] = state, common.draft_store().create_interview(state.model_dump_json())
    st.query_params["interview"] = str(S[IV_ID])


def interview_state() -> iv.InterviewState:
    """This session's interview, else the one named in the URL (after a refresh), else a new one."""
    raw = st.query_params.get("interview")
    if IV_STATE not in S and raw and raw.isdigit():
        with common.user_errors():
            S[IV_STATE] = iv.state_from_json(common.draft_store().get_interview(int(raw)))
            S[IV_ID] = int(raw)
    if IV_STATE not in S:
        new_interview()
    return S[IV_STATE]


def reopen_interview(draft_id: int) -> bool:
    """The interview a saved draft was written from (if any) becomes this session's interview."""
    linked = common.draft_store().interview_for_draft(draft_id)
    if linked is None:
        return False
    S[IV_STATE], S[IV_ID] = iv.state_from_json(linked[1]), linked[0]
    st.query_params["interview"] = str(linked[0])
    return True


def keep_interview(state: iv.InterviewState, draft_id: int | None = None) -> None:
    """Save the interview's new state (and link it to the draft written from it)."""
    S[IV_STATE] = state
    common.draft_store().save_interview(S[IV_ID], state.model_dump_json(), draft_id)


def interview_facts() -> UnitFacts | None:
    """Chat on the left, the facts so far on the right; the facts when “用这些事实起草” is clicked."""
    state = interview_state()
    chat, side = st.columns([3, 2])
    with chat:
        box = st.container(height=560)
        reply = st.chat_input("回答问题；“跳过”略过这一方面，“结束”停止采集", key="interview_chat")
        if reply is not None:
            state = iv.answer(state, reply)
            keep_interview(state)
        with box:
            for turn in state.messages:
                with st.chat_message(turn.role):
                    (st.error if turn.kind == "error" else st.markdown)(turn.text)
    with side, common.user_errors():
        return interview_panel(state)
    return None


def interview_panel(state: iv.InterviewState) -> UnitFacts | None:
    """Facts gathered so far (editable), the facts file to download, and the way on to drafting."""
    head = st.container()  # filled after the table, so a saved edit is counted at once
    columns = ["id", "category", "aspect", "text", "source"]
    with st.form("interview_facts_form", border=False):
        edited = st.data_editor(
            pd.DataFrame(iv.fact_rows(state), columns=columns), num_rows="dynamic", width="stretch",
            key=f"interview_editor_{len(state.messages)}_{S.get(IV_EDITS, 0)}",
            column_config={
                "id": st.column_config.TextColumn("编号"),
                "category": st.column_config.SelectboxColumn("类别", options=list(CATEGORIES), required=True),
                "aspect": st.column_config.TextColumn("检视方面"),
                "text": st.column_config.TextColumn("事实内容", width="large"),
                "source": st.column_config.TextColumn("来源"),
            },
        )
        if st.form_submit_button("保存修改"):
            state = iv.with_facts(state, edited.to_dict("records"))
            keep_interview(state)
            S[IV_EDITS] = S.get(IV_EDITS, 0) + 1
            st.success(f"已保存，共 {len(state.facts)} 条事实。")
    done, total = iv.progress(state)
    head.subheader(f"已采集的事实（{len(state.facts)} 条）")
    if total:
        ended = "（提前结束）" if state.done and done < total else ""
        head.progress(done / total, text=f"检视方面 {done}/{total}{ended}")
    head.caption(iv.preparation_summary(state))
    try:
        facts_yaml = iv.to_yaml(state)
    except InputError as exc:
        facts_yaml = None
        st.caption(exc.message)
    c1, c2, c3 = st.columns(3)
    if facts_yaml:
        c1.download_button("下载事实文件（YAML）", facts_yaml, file_name=f"{state.unit}-事实.yaml",
                           mime="application/x-yaml", key="interview_download")
    go = c2.button("用这些事实起草", type="primary", key="interview_draft", disabled=facts_yaml is None)
    if c3.button("重新开始", key="interview_restart"):
        new_interview()
        st.rerun()
    return iv.to_unit_facts(state) if go else None


def draft_from_interview(facts: UnitFacts) -> None:
    """The existing drafting flow on the interview's facts; the new draft is linked to the interview."""
    before = S.get("draft_id")
    try:
        generate(facts)
    finally:
        if S.get("draft_id") not in (None, before):
            keep_interview(S[IV_STATE], S["draft_id"])


def facts_input() -> UnitFacts | None:
    """Facts from the chosen source (with the picked frame, if any), with a short summary; errors are shown,
    never raised."""
    if S.pop(REOPENED, False):  # a saved draft was opened with its interview: show the chat
        S["facts_source"] = INTERVIEW
        st.toast("已打开起草这份草稿时的对话采集记录，可以接着修改事实或重新起草。")
    default = SOURCES.index(INTERVIEW) if st.query_params.get("interview") else 0
    source = st.radio("事实来源", SOURCES, index=default, horizontal=True, key="facts_source")
    facts = frame = None
    with common.user_errors():
        frame = common.frame_picker("draft_frame", "选定后按这个框架起草，替换事实材料中的 frame；"
                                                  "“自动识别”：用事实材料中的 frame，没写时按年度和材料类型选择")
    with common.user_errors():
        facts = {SOURCES[0]: example_facts, SOURCES[1]: uploaded_facts, SOURCES[2]: form_facts,
                 INTERVIEW: interview_facts}[source]()
    if facts is not None and frame is not None:
        facts = facts_with_frame(facts, frame)
        st.caption(f"会议框架：{frame.name}（替换事实材料中的框架）")
    with st.expander("事实材料格式说明"):
        st.text(FACTS_SCHEMA_DOC)
    if facts is not None:
        common.read_ahead_in_background(facts)
        st.caption(common.facts_summary(facts))
        with st.expander(f"查看事实（{len(facts.facts)} 条）"):
            st.dataframe(common.facts_table(facts), hide_index=True, width="stretch")
    return facts


def saved_drafts() -> None:
    """Open a draft saved earlier (also after a restart)."""
    drafts = common.draft_store().list_drafts()
    if not drafts:
        return
    with st.expander(f"打开已保存的草稿（{len(drafts)} 份）"):
        chosen = st.selectbox("草稿", drafts, key="saved_pick",
                              format_func=lambda d: f"{d.title} · {d.versions} 个版本 · {d.updated_at.replace('T', ' ')}")
        if st.button("打开", key="open_saved") and chosen:
            with common.user_errors():
                open_saved(chosen.id)
                if reopen_interview(chosen.id):
                    S[REOPENED] = True
                    st.rerun()  # the chat above was drawn with the previous interview


# ------------------------------------------------------------------------------ generation

def generate(facts: UnitFacts) -> None:
    """Draft from facts, streaming status lines and model tokens; the result is saved as version 1."""
    tokens: list[str] = []
    shown = {"at": 0.0}
    status = st.status("正在起草…", expanded=False)
    # outside the status box, which Streamlit shows collapsed while it runs: the draft must be in view
    live = st.empty()
    page = st.empty()  # the draft as written so far, part by part
    with status:

        def on_event(kind: str, payload) -> None:
            if kind == "status":
                status.update(label=payload)
                st.write(payload)
            elif kind == "token":
                tokens.append(payload)
                if time.monotonic() - shown["at"] > 0.2:  # refresh the live text a few times a second
                    shown["at"] = time.monotonic()
                    live.caption("模型正在输出：" + readable_stream("".join(tokens))[-160:])
            elif kind == "draft":
                tokens.clear()
                page.html(common.draft_html(to_markdown(payload)))
            elif kind == "part":
                st.write(f"已完成：{PART_LABELS.get(payload, payload)}部分")

        try:
            draft = draft_from_facts(facts, common.get_model(), kb=common.kb_or_none(), on_event=on_event)
        except DraftInterrupted as exc:
            live.empty()
            page.empty()
            status.update(label="起草中断", state="error", expanded=False)
            if any(not it.gap for p in exc.partial.parts if p.kind in PARTS_TO_REWRITE for it in p.items):
                save_first(facts, exc.partial, f"未完成稿（在“{exc.step}”中断）")
            raise
        live.empty()
        page.empty()
        status.update(label=f"起草完成：{len(draft.gaps)} 处待补充", state="complete", expanded=False)
    save_first(facts, draft, "初稿")


def save_first(facts: UnitFacts, draft: Draft, note: str) -> None:
    """Save a new draft with its first version and make it current (a partial one too: nothing is lost)."""
    store = common.draft_store()
    draft_id = store.create_draft(draft.title, facts.model_dump_json())
    number = store.save_version(draft_id, to_markdown(draft), draft.model_dump_json(), note)
    set_current(draft_id, number, facts, draft)


# ------------------------------------------------------------------------------ revisions

def revise_by_chat(instruction: str) -> None:
    """A chat instruction applies to the item it names, else to every problem item."""
    with st.spinner("正在按意见修改…"):
        new = apply_instruction(S["draft_obj"], instruction, S["draft_facts"], common.get_model())
    save_new_version(new, instruction)


def revise_one() -> None:
    """Regenerate one item following an instruction."""
    draft: Draft = S["draft_obj"]
    items = [it for p in draft.parts if p.kind != "opening" for it in p.items]
    with st.form("revise_item"):
        c1, c2 = st.columns([2, 3])
        item = c1.selectbox("选择条目", items, format_func=lambda it: common.item_label(it.id, it.text))
        instruction = c2.text_input("修改要求", placeholder="如：写得更具体，突出本人责任")
        if st.form_submit_button("重写这一条") and item is not None:
            if not instruction.strip():
                st.warning("请先填写修改要求。")
                return
            with st.spinner(f"正在重写 {item.id}…"):
                new = revise_item(draft, item.id, instruction, S["draft_facts"], common.get_model())
            save_new_version(new, f"重写{item.id}：{instruction}")


def pick_causes() -> None:
    """Causes the model could not write: choose one of the bank's candidate reasons, or write your own."""
    draft: Draft = S["draft_obj"]
    waiting = waiting_causes(draft)
    if not waiting:
        return
    st.info(f"有 {len(waiting)} 条原因需要你来选：模型没有写出合格的原因，草稿里暂用了通用表述；"
            "下面是可选的说法，也可以自己写。")
    for item in waiting:
        with st.form(f"pick_{item.id}"):
            st.markdown(f"**{item.heading}**")
            choice = st.radio("候选原因", list(range(1, len(item.candidates) + 1)), key=f"cand_{item.id}",
                              format_func=lambda i, item=item: item.candidates[i - 1])
            own = st.text_input("或者自己写", key=f"own_{item.id}")
            if st.form_submit_button("采用"):
                new = choose_cause(draft, item.id, own.strip() or choice)
                save_new_version(new, f"选定原因{item.id}")


def rewrite_part() -> None:
    """Write one whole part again (问题 redrafts the three model parts), saved as a new version."""
    with st.form("rewrite_part"):
        c1, c2 = st.columns([1, 3])
        kind = c1.selectbox("部分", list(PARTS_TO_REWRITE), format_func=PARTS_TO_REWRITE.get, key="rewrite_kind")
        instruction = c2.text_input("修改要求（可不填）", placeholder="如：措施要有具体次数和完成标志",
                                    key="rewrite_instruction")
        if st.form_submit_button("重写这一部分") and kind:
            with st.spinner(f"正在重写“{PARTS_TO_REWRITE[kind]}”…"):
                new = regenerate_part(S["draft_obj"], kind, S["draft_facts"], common.get_model(), instruction,
                                      kb=common.kb_or_none())
            save_new_version(new, f"重写{PARTS_TO_REWRITE[kind]}" + (f"：{instruction}" if instruction else ""))


# ------------------------------------------------------------------------------ display

def version_picker() -> None:
    """Pick any saved version of the current draft; the picked one becomes the working draft."""
    versions = common.draft_store().versions(S["draft_id"])
    numbers = [v.version_no for v in versions]
    notes = {v.version_no: f"第{v.version_no}版 · {v.note or '—'} · {v.created_at.replace('T', ' ')}" for v in versions}
    current = S["draft_version"]
    picked = st.selectbox("版本", numbers, index=numbers.index(current) if current in numbers else len(numbers) - 1,
                          format_func=notes.get, key=f"pick_{S['draft_id']}_{current}")
    if picked is not None and picked != current:
        open_saved(S["draft_id"], picked)


def review(draft: Draft, markdown: str):
    """Critic report of the current version (computed once per draft and version)."""
    return common.session_cached(
        "draft_review", (S["draft_id"], S["draft_version"]),
        lambda: critique_many({draft.title: markdown}, year=draft.year, meeting_type=draft.meeting_type,
                              frame_id=draft.frame_id)[0],
    )


def show_review(report) -> None:
    """The critic's view of the draft, beside it."""
    s = report.summary
    st.metric("批改得分", s["score"], help=s["grade"])
    st.caption("，".join(f"{LEVEL_LABELS[k]} {v} 条" for k, v in s["levels"].items()))
    for f in report.findings:
        st.markdown(f"{common.LEVEL_BADGES[f.level]} **{f.message}**  \n“{f.quote[:40]}”")


def show_extras(draft: Draft) -> None:
    """Citations, guard events and run statistics."""
    with st.expander(f"引用的资料（{len(draft.citations)} 条）"):
        for c in draft.citations:
            st.markdown(f"**{c.title or c.source}** {c.location}")
            st.caption(c.text)
        if not draft.citations:
            st.caption("本次起草没有引用知识库资料。")
    with st.expander(f"已拦截的无依据内容（{len(draft.guard_events)} 处）"):
        for e in draft.guard_events:
            st.markdown(f"- {e.item_id}：“{e.token}” 在事实和资料中找不到依据，已替换为【待核实】")
        if not draft.guard_events:
            st.caption("没有需要拦截的内容。")
    stats = draft.stats
    if stats:
        st.caption(f"用时 {stats.get('seconds', '—')} 秒 · 调用模型 {stats.get('llm_calls', '—')} 次 · "
                   f"事实使用率 {stats.get('fact_coverage', 0):.0%} · 待补充 {stats.get('gaps', 0)} 处")


def downloads(draft: Draft, markdown: str) -> None:
    """Markdown and Word downloads of the current version."""
    name = f"{draft.title}-第{S['draft_version']}版"
    c1, c2 = st.columns(2)
    c1.download_button("下载 Markdown", markdown, file_name=f"{name}.md", mime="text/markdown", key="dl_md")
    docx = common.session_cached("draft_docx", (S["draft_id"], S["draft_version"]),
                                 lambda: draft_to_docx(draft.title, markdown))
    c2.download_button("下载 Word（公文格式）", docx, file_name=f"{name}.docx",
                       mime="application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                       key="dl_docx")


def workspace() -> None:
    """The current draft: revisions first (so the picker sees new versions), then the display."""
    header, body = st.container(), st.container()
    instruction = st.chat_input("输入修改意见，例如：第二个问题再具体一些", key="draft_chat")
    with common.user_errors():
        pick_causes()
    with st.expander("逐条重写"), common.user_errors():
        revise_one()
    with st.expander("重写整个部分"), common.user_errors():
        rewrite_part()
    if instruction:
        with common.user_errors():
            revise_by_chat(instruction)
    with header:
        st.divider()
        with common.user_errors():
            version_picker()
    draft: Draft = S["draft_obj"]
    markdown = to_markdown(draft)
    with body:
        left, right = st.columns([3, 2])
        with left:
            st.subheader(f"草稿（第{S['draft_version']}版）")
            if draft.gaps:
                st.warning(f"有 {len(draft.gaps)} 处【请补充】标记：事实不足，请补充后再提交。")
            st.html(common.draft_html(markdown))
            show_extras(draft)
            downloads(draft, markdown)
        with right, common.user_errors():
            st.subheader("批改意见")
            show_review(review(draft, markdown))


def main() -> None:
    """The page below its title (run on every rerun)."""
    restore_from_url()
    facts = facts_input()
    saved_drafts()
    if S.get("facts_source") == INTERVIEW:
        if facts is not None:  # “用这些事实起草” was clicked
            with common.user_errors():
                draft_from_interview(facts)
    elif st.button("生成草稿", type="primary", key="generate", disabled=facts is None):
        with common.user_errors():
            generate(facts)
    if "draft_obj" in S:
        workspace()
