"""起草 page. The title is painted before the page's imports (``ui.draft_page``: pandas, the drafting pipeline,
the critic), which take a second or two on a cold start, so the page is never blank while they load."""

from __future__ import annotations

import streamlit as st


def page() -> None:
    st.title("起草")
    st.caption("只根据你提供的事实起草；缺少事实的地方留下【请补充：…】标记，不编造。")
    from ui import draft_page  # after the title: see the module docstring

    draft_page.main()


page()
