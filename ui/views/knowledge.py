"""知识库 page: upload and ingest files, list and delete documents, search with citations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from rag.kb.loaders import KINDS
from rag.uploads import UPLOAD_TYPES, save_upload
from ui import common

AUTO = "auto"
MODES = {"hybrid": "混合检索", "dense": "语义检索", "bm25": "关键词检索"}


def upload_section(kb) -> None:
    """Save uploads to <data_dir>/uploads/ and ingest them with a progress bar."""
    st.subheader("导入文件")
    files = st.file_uploader("选择文件（可多选）", type=list(UPLOAD_TYPES), accept_multiple_files=True,
                             key="kb_upload")
    kind = st.selectbox("资料类型", [AUTO, *KINDS], key="kb_kind",
                        format_func=lambda k: "自动判断" if k == AUTO else common.kind_label(k))
    if st.button("导入知识库", type="primary", disabled=not files, key="kb_ingest"):
        paths = [save_upload(f.name, f.getvalue()) for f in files]
        bar = st.progress(0.0, text="正在导入…")

        def progress(done: int, total: int, source: str) -> None:
            bar.progress(done / total if total else 1.0, text=f"{done}/{total} {source}")

        report = kb.ingest(paths, kind=None if kind == AUTO else kind, progress=progress)
        (st.success if report.ok else st.warning)(report.summary())
        for source, message in report.errors:
            st.error(f"{source}：{message}")


def documents_section(kb) -> None:
    """Table of ingested documents and a delete button per source."""
    docs = kb.list_documents()
    st.subheader(f"已导入的资料（{len(docs)} 个文件）")
    if not docs:
        st.caption("知识库还是空的。可以在上方导入文件，或运行 zhaojing setup 导入内置资料。")
        return
    table = pd.DataFrame([{
        "标题": d["title"], "类型": common.kind_label(d["kind"]), "年度": d["year"], "材料类型": d["meeting_type"],
        "单位": d["unit"], "片段数": d["chunks"], "状态": "完成" if d["status"] == "done" else "未完成",
        "来源": d["source"],
    } for d in docs])
    st.dataframe(table, hide_index=True, width="stretch")
    with st.expander("删除文件"):
        for i, d in enumerate(docs):
            c1, c2 = st.columns([6, 1])
            c1.markdown(f"{d['title']}  \n`{d['source']}`")
            if c2.button("删除", key=f"kb_del_{i}", help=f"从知识库删除 {d['source']}"):
                removed = kb.delete_source(d["source"])
                st.success(f"已删除 {d['source']}（{removed} 个片段）")
                st.rerun()


def search_section(kb) -> None:
    """Search box with filters; every hit shows score, title, citation and text."""
    st.subheader("检索")
    with st.form("kb_search"):
        query = st.text_input("要查找的内容", placeholder="如：民主生活会 会前 谈心谈话", key="kb_query")
        c1, c2, c3 = st.columns(3)
        kinds = c1.multiselect("资料类型", list(KINDS), format_func=common.kind_label, key="kb_kinds",
                               placeholder="全部类型")
        mode = c2.selectbox("检索方式", list(MODES), format_func=MODES.get, key="kb_mode")
        k = c3.slider("返回条数", 1, 20, 5, key="kb_k")
        submitted = st.form_submit_button("检索")
    if not submitted:
        return
    hits = kb.search(query, k=k, mode=mode, kinds=kinds or None)
    if not hits:
        st.info("没有找到相关内容。")
    for i, hit in enumerate(hits, start=1):
        with st.container(border=True):
            st.markdown(f"**{i}. {hit.title or hit.source}**　·　{common.kind_label(hit.kind)}　·　相关度 {hit.score:.3f}")
            st.caption(hit.citation)
            st.text(hit.text)


st.title("知识库")
st.caption("政策文件摘要、年度框架、示范材料和本单位往年材料；检索结果都带出处。")
with common.user_errors():
    kb = common.get_kb()
    tab_search, tab_docs, tab_upload = st.tabs(["检索", "资料列表", "导入"])
    with tab_search, common.user_errors():
        search_section(kb)
    with tab_docs, common.user_errors():
        documents_section(kb)
    with tab_upload, common.user_errors():
        upload_section(kb)
