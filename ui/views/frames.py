"""会议框架 page: the built-in and the user's own frames, and a form to add one (新建框架)."""

from __future__ import annotations

from datetime import date

import streamlit as st

from rag.frames import (
    MEETING_TYPES,
    REQUIRED_SECTIONS,
    Frame,
    builtin_frames,
    create_user_frame,
    delete_user_frame,
    frame_notes,
    frame_yaml,
    user_frames,
)
from ui import common

S = st.session_state
FLASH_KEY = "frames_flash"
ASPECTS_HELP = ("每行写一个方面，格式：方面名称｜关键词1、关键词2｜这个方面查什么。关键词和说明可不填："
                "不填关键词时按名称自动提取；说明用于起草时判断事实归入哪个方面。")
ASPECTS_PLACEHOLDER = ("对照党章党规，查找支部政治功能方面的差距｜政治功能、三会一课｜三会一课、党员教育管理、支部议事\n"
                       "对照群众期盼，查找服务群众方面的差距｜服务群众｜群众诉求、为民办实事")


def frame_details(frame: Frame) -> None:
    """Meeting, years, material types, theme, aspects and required parts of one frame."""
    years = "、".join(map(str, frame.years)) or "—"
    st.markdown(f"**会议**：{frame.meeting}　**年度**：{years}　**材料类型**：{'、'.join(frame.meeting_types)}"
                f"　**编号**：`{frame.id}`")
    if frame.theme:
        st.markdown(f"**主题**：{frame.theme}")
    lines = [f"{i}. {a.heading}" + (f"——{a.description}" if a.description else "")
             + (f"（关键词：{'、'.join(a.keywords)}）" if a.keywords else "")
             for i, a in enumerate(frame.aspects, start=1)]
    st.markdown("**检视方面**\n\n" + "\n".join(lines))
    if frame.required_sections:
        st.markdown(f"**必须包含**：{'、'.join(frame.required_sections)}")


def new_frame_form() -> None:
    """The 新建框架 form; on submit, save through the package and show the result or the error."""
    with st.form("frame_new"):
        st.text_input("会议名称", placeholder="如：2026年学习教育专题组织生活会", key="fr_name",
                      help="写出会议的完整名称；含“专题”的会议，起草时标题和开头原样使用这个名称")
        c1, c2 = st.columns(2)
        c1.multiselect("材料类型", list(MEETING_TYPES), default=list(MEETING_TYPES), key="fr_types",
                       placeholder="选择材料类型")
        c2.number_input("年度", min_value=2000, max_value=2100, value=date.today().year, step=1, key="fr_year")
        st.text_input("主题（可不填）", placeholder="如：学查改", key="fr_theme")
        st.text_area("检视方面（每行一个）", height=160, placeholder=ASPECTS_PLACEHOLDER, help=ASPECTS_HELP,
                     key="fr_aspects")
        st.multiselect("必须包含的部分（可不选）", list(REQUIRED_SECTIONS), key="fr_sections",
                       placeholder="如通知要求写上年度整改情况、反面典型案例剖析")
        c3, c4 = st.columns(2)
        c3.text_input("框架编号（可不填，自动生成）", placeholder="如：2026-xuexi-zhuanti", key="fr_id")
        c4.checkbox("覆盖同编号的自建框架", key="fr_replace")
        submitted = st.form_submit_button("保存框架", type="primary")
    if not submitted:
        return
    with common.user_errors():
        frame = create_user_frame(S["fr_name"], S["fr_types"], S["fr_year"], S["fr_aspects"], S["fr_sections"],
                                  theme=S["fr_theme"], frame_id=S["fr_id"], replace=S["fr_replace"])
        st.success(f"已保存框架“{frame.name}”（编号 {frame.id}）")
        st.caption(f"起草时在事实文件中写 frame: {frame.id}；批改时，写明这些方面的草稿会自动按本框架检查，"
                   f"命令行也可用 --frame {frame.id} 指定。")
        for note in frame_notes(frame):
            st.warning(note)
        with st.container(border=True):
            frame_details(frame)
        with st.expander("框架文件内容"):
            st.code(frame_yaml(frame), language="yaml")


def user_frames_section() -> None:
    """The user's own frames (data dir frames/), each with a delete button; broken files say why."""
    entries = user_frames()
    st.subheader(f"自建框架（{len(entries)} 个）")
    if not entries:
        st.caption("还没有自建框架。可以在“新建框架”里按通知列出的方面新建一个。")
    for entry in entries:
        label = entry.frame.name if entry.frame else entry.path.name
        with st.expander(label):
            if entry.error:
                st.warning(entry.error)
            if entry.frame:
                frame_details(entry.frame)
            st.caption(f"文件：{entry.path}")
            key = entry.frame.id if entry.frame else entry.path.stem
            if st.button("删除这个框架", key=f"fr_del_{key}"):
                with common.user_errors():
                    delete_user_frame(key)
                    S[FLASH_KEY] = f"已删除框架“{label}”"
                    st.rerun()


def builtin_frames_section() -> None:
    """The frames shipped in knowledge_base/frames/."""
    frames = builtin_frames()
    st.subheader(f"内置框架（{len(frames)} 个）")
    for frame in frames:
        with st.expander(f"{frame.name}"):
            frame_details(frame)


st.title("会议框架")
st.caption("每次会议按通知列出的检视方面查摆问题。内置了近几年的年度框架；专题会议或本单位的要求，可以在这里新建框架，"
           "起草和批改都会用到。")
if S.get(FLASH_KEY):
    st.success(S.pop(FLASH_KEY))
tab_new, tab_list = st.tabs(["新建框架", "全部框架"])
with tab_new:
    new_frame_form()  # first, so a frame saved in this run is already in the lists below
with tab_list, common.user_errors():
    user_frames_section()
    builtin_frames_section()
