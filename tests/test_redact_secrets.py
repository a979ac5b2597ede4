"""API keys are never shown or logged: settings repr/dumps, model reprs, error messages, debug logs."""

from __future__ import annotations

import logging

import pytest

from rag.config import Settings, get_settings
from rag.errors import LLMError
from rag.llm import get_chat_model, invoke_text
from rag.llm.testing_server import FakeOpenAIServer

KEY = "sk-zhaojing-secret-0123456789abcdef"


def test_settings_never_print_the_key():
    settings = Settings(llm="openai", openai_base_url="https://api.example.com/v1", openai_api_key=KEY)
    for shown in (repr(settings), str(settings), settings.model_dump_json(), str(settings.model_dump())):
        assert KEY not in shown
    assert settings.openai_api_key.get_secret_value() == KEY


def test_model_repr_and_errors_and_logs_hide_the_key(monkeypatch, caplog):
    with FakeOpenAIServer(faults=["401"]) as server:
        monkeypatch.setenv("ZHAOJING_LLM", "openai")
        monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
        monkeypatch.setenv("OPENAI_API_KEY", KEY)
        get_settings.cache_clear()
        model = get_chat_model()
        assert KEY not in repr(model)
        with caplog.at_level(logging.DEBUG), pytest.raises(LLMError) as info:
            invoke_text(model, "你好")
        assert server.headers[-1]["authorization"] == f"Bearer {KEY}"  # it was really sent …
    assert "401" in info.value.message
    assert KEY not in str(info.value) and KEY not in repr(info.value)  # … but never shown
    assert caplog.records and KEY not in caplog.text
