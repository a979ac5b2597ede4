"""Shared fixtures. Sockets are disabled by pytest-socket (see pyproject); only loopback is allowed."""

from __future__ import annotations

import pytest

from rag.config import get_settings


@pytest.fixture(autouse=True)
def _isolated_settings(tmp_path_factory, monkeypatch):
    """Each test gets a throwaway data dir unless it sets its own; settings cache is reset."""
    monkeypatch.setenv("ZHAOJING_DATA_DIR", str(tmp_path_factory.mktemp("data")))
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.setenv("ZHAOJING_LLM", "fake")
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()
