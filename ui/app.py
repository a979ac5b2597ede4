"""照镜 Streamlit entry point: page setup, navigation over ui/views/, and the sidebar status.

Run with ``streamlit run ui/app.py`` (``make run``). Pages import ``ui.common``; the project root is put on
``sys.path`` here because Streamlit only adds the script's own folder.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


GLOBAL_CSS = """<style>
[data-testid="stFileUploaderDropzone"] button p{font-size:0}
[data-testid="stFileUploaderDropzone"] button p::after{content:"选择文件";font-size:.875rem}
[data-testid="stFileUploaderDropzoneInstructions"] span{font-size:0}
[data-testid="stFileUploaderDropzoneInstructions"] span::after{content:"拖放到这里，或点击“选择文件”";font-size:.8rem}
</style>"""
"""Chinese labels for the file uploader's built-in English text."""


def main() -> None:
    """Configure the page, build the navigation and run the selected page.

    Only Streamlit is imported before the navigation, so a cold start paints the Chinese navigation at once;
    the pages import what they need (``ui.common`` pulls in pandas and langchain_core, about a second), and the
    sidebar status and the model warm-up come after the page, so they do not hold up its first paint.
    """
    import streamlit as st

    st.set_page_config(page_title="照镜", page_icon="🪞", layout="wide")
    pages = [
        st.Page("views/draft.py", title="起草", icon=":material/edit_note:", default=True),
        st.Page("views/critique.py", title="批改", icon=":material/rate_review:"),
        st.Page("views/evaluate.py", title="批量评测", icon=":material/analytics:"),
        st.Page("views/knowledge.py", title="知识库", icon=":material/library_books:"),
        st.Page("views/frames.py", title="会议框架", icon=":material/view_list:"),
        st.Page("views/settings.py", title="设置", icon=":material/settings:"),
    ]
    page = st.navigation(pages)
    st.html(GLOBAL_CSS)
    with st.sidebar:
        st.markdown("### 照镜")
        st.caption("对照检查材料起草与批改助手")
    try:
        page.run()
    finally:  # also after st.rerun / st.stop / an error in the page: the status is always shown
        from ui import common

        common.sidebar_status()
        common.warm_model_in_background()  # the embedded model reads the shared prompt prefix once


main()
