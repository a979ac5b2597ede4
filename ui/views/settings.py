"""设置 page: model backend for this session, where data lives, and what leaves the machine."""

from __future__ import annotations

import streamlit as st
from pydantic import SecretStr

from ui import common

S = st.session_state


def save_backend() -> None:
    """Form callback: keep the choices for this session, then blank the key field so it is never shown."""
    overrides = dict(S.get(common.OVERRIDES_KEY) or {})
    overrides.update(llm=S["set_llm"], openai_base_url=S["set_base_url"].strip() or None,
                     model=S["set_model"].strip() or None)
    if S["set_api_key"].strip():
        overrides["openai_api_key"] = SecretStr(S["set_api_key"].strip())
    S["set_api_key"] = ""
    common.set_overrides(overrides)
    S["settings_saved"] = True


def clear_key() -> None:
    """Button callback: forget the session's API key."""
    overrides = dict(S.get(common.OVERRIDES_KEY) or {})
    overrides["openai_api_key"] = None
    common.set_overrides(overrides)


def backend_form() -> None:
    """Backend, endpoint, model and API key for this session only (the key is never shown back)."""
    current = common.effective_settings()
    options = ["embedded", "openai"] + (["fake"] if current.llm == "fake" else [])
    has_key = current.openai_api_key is not None
    with st.form("model_settings"):
        st.radio("模型后端", options, index=options.index(current.llm), horizontal=True,
                 format_func=common.BACKEND_LABELS.get, key="set_llm")
        st.text_input("接口地址（OPENAI_BASE_URL）", value=current.openai_base_url or "",
                      placeholder="如：https://api.deepseek.com/v1", key="set_base_url")
        st.text_input("模型名称（ZHAOJING_MODEL）", value=current.model or "",
                      placeholder="如：deepseek-chat、qwen-plus", key="set_model")
        st.text_input("API Key", type="password", key="set_api_key",
                      placeholder="已设置（不显示）；留空则保持不变" if has_key else "sk-…",
                      help="只保存在本次浏览器会话的内存中，不写入文件，也不会显示或记录。")
        st.form_submit_button("保存（仅本次会话）", type="primary", on_click=save_backend)
    if S.pop("settings_saved", False):
        st.success("已保存，本次会话后续的起草将使用新设置。")
    if has_key:
        st.button("清除本次会话的 API Key", key="clear_key", on_click=clear_key)


def privacy_notes() -> None:
    """What leaves the machine, and when."""
    settings = common.effective_settings()
    st.subheader("数据去向")
    if settings.is_remote:
        st.error("当前设置下，起草时材料会发送到远程模型服务：" + common.safe_url(settings.openai_base_url))
    else:
        st.success("离线模式：数据不离开本机")
    st.markdown(
        "- 批改完全在本机运行，不调用任何模型。\n"
        "- 选择“OpenAI 兼容接口”且地址不是本机（127.0.0.1 / localhost）时，起草和修改会把事实材料发送到该服务。"
        "发送前会先把人名、手机号、身份证号、邮箱替换为占位符，返回后再还原"
        f"（当前{'已开启' if settings.redact_remote else '已关闭'}，由 ZHAOJING_REDACT_REMOTE 控制）。\n"
        "- 这里的设置只对本次浏览器会话有效；长期使用请在项目目录的 .env 中配置。"
    )


def storage_notes() -> None:
    """Where the knowledge base and drafts are kept."""
    settings = common.effective_settings()
    st.subheader("数据位置")
    kb = (f"Chroma 服务端 {settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host
          else str(settings.chroma_dir))
    st.markdown(f"- 数据目录：`{settings.data_dir}`\n- 知识库：`{kb}`\n"
                f"- 草稿与历史版本：`{settings.data_dir / 'drafts.sqlite'}`\n"
                f"- 上传的资料：`{settings.data_dir / 'uploads'}`")


st.title("设置")
st.subheader("模型")
st.caption(f"当前：{common.backend_label(common.effective_settings())}")
backend_form()
privacy_notes()
storage_notes()
