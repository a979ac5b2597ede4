"""ChatOpenAI (via get_chat_model) against the local FakeOpenAIServer: calls, streaming, faults."""

from __future__ import annotations

import time

import httpx
import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel

from rag.config import get_settings
from rag.errors import LLMError
from rag.llm import CallStats, RetryPolicy, get_chat_model, invoke_text, stream_text, structured_call
from rag.llm.testing_server import FakeOpenAIServer


class Summary(BaseModel):
    title: str
    points: list[str]


@pytest.fixture
def server():
    with FakeOpenAIServer(model="served-model") as srv:
        yield srv


@pytest.fixture
def openai_env(server, monkeypatch):
    """Point the settings at the fake server; returns a factory for the chat model."""
    monkeypatch.setenv("ZHAOJING_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-key")
    monkeypatch.setenv("ZHAOJING_MODEL", "qwen-test")
    monkeypatch.setenv("ZHAOJING_LLM_TIMEOUT", "0.5")
    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0.01")  # the seam's backoff, fast for tests
    get_settings.cache_clear()
    return get_chat_model


def test_server_models_endpoint(server):
    response = httpx.get(f"{server.base_url}/models")
    assert response.json()["data"][0]["id"] == "served-model"
    assert server.hits == [("GET", "/v1/models")]


def test_normal_call_and_recorded_request(server, openai_env):
    model = openai_env(temperature=0.3)
    text = invoke_text(model, [SystemMessage(content="你是助手"), HumanMessage(content="你好")])
    assert text == "收到：你好"
    body = server.requests[-1]
    assert body["model"] == "qwen-test" and body["temperature"] == 0.3
    assert body["messages"] == [{"role": "system", "content": "你是助手"}, {"role": "user", "content": "你好"}]
    assert server.headers[-1]["authorization"] == "Bearer sk-test-key"


def test_usage_is_reported(server, openai_env):
    message = openai_env().invoke("你好")
    assert message.usage_metadata["output_tokens"] == len("收到：你好")


def test_streaming(server, openai_env):
    pieces = list(stream_text(openai_env(), "流式测试"))
    assert "".join(pieces) == "收到：流式测试"
    assert len(pieces) > 1
    assert server.requests[-1]["stream"] is True


def test_responder_and_latency(server, openai_env):
    server.responder = lambda messages: f"共 {len(messages)} 条消息"
    server.latency = 0.2
    started = time.perf_counter()
    assert invoke_text(openai_env(), "x") == "共 1 条消息"
    assert time.perf_counter() - started >= 0.2


def test_500_then_success_is_retried(server, openai_env):
    server.add_faults("500")
    assert invoke_text(openai_env(), "重试") == "收到：重试"
    assert len(server.requests) == 2


def test_streaming_retries_before_first_byte(server, openai_env):
    server.add_faults("503", "reset")
    assert "".join(stream_text(openai_env(), "流")) == "收到：流"
    assert len(server.requests) == 3


def test_429_exhausted_raises(server, openai_env):
    server.add_faults("429", "429", "429")
    with pytest.raises(LLMError) as info:
        invoke_text(openai_env(), "忙")
    assert info.value.message == "模型服务繁忙（429）（已自动重试 2 次）" and info.value.hint
    assert len(server.requests) == 3  # first try + 2 retries in the seam (the client's own are off)


def test_auth_error_is_not_retried(server, openai_env):
    server.add_faults("401")
    with pytest.raises(LLMError, match="OPENAI_API_KEY"):
        invoke_text(openai_env(), "x")
    assert len(server.requests) == 1


def test_garbage_body_is_asked_again_once(server, openai_env):
    server.add_faults("garbage")
    assert invoke_text(openai_env(), "x") == "收到：x"
    server.add_faults("garbage", "garbage")
    with pytest.raises(LLMError, match="无法识别") as info:
        invoke_text(openai_env(), "x")
    assert "已重新请求 1 次" in info.value.message
    assert len(server.requests) == 4


def test_garbage_stream_raises(server, openai_env):
    server.add_faults("garbage", "garbage")
    with pytest.raises(LLMError, match="无法识别"):
        list(stream_text(openai_env(), "x"))
    assert len(server.requests) == 2


def test_timeout_raises(server, openai_env):
    server.add_faults("timeout", "timeout", "timeout")
    started = time.perf_counter()
    with pytest.raises(LLMError) as info:
        invoke_text(openai_env(), "慢")
    assert info.value.message.startswith("模型服务超时") and "ZHAOJING_LLM_TIMEOUT" in info.value.hint
    assert len(server.requests) == 3
    assert time.perf_counter() - started < 10


def test_truncated_stream_raises_after_partial_text(server, openai_env):
    server.responder = lambda messages: "这是一段会在中途被截断的比较长的回答内容"
    server.add_faults("truncated")
    received: list[str] = []
    with pytest.raises(LLMError, match="中途中断"):
        for piece in stream_text(openai_env(), "x"):
            received.append(piece)
    assert received and "".join(received) != server.responder([])


def test_empty_content_is_asked_again_then_raises(server, openai_env):
    server.add_faults("empty")
    assert invoke_text(openai_env(), "x") == "收到：x"
    server.add_faults("empty", "empty")
    with pytest.raises(LLMError, match="空内容"):
        invoke_text(openai_env(), "x")
    assert len(server.requests) == 4


def test_structured_call_over_openai(server, openai_env):
    replies = iter(["抱歉我只会说话", '```json\n{"title": "小结", "points": ["一", "二"]}\n```'])
    server.responder = lambda messages: next(replies)
    result = structured_call(openai_env(), "总结一下", Summary, retries=1)
    assert result == Summary(title="小结", points=["一", "二"])
    first, second = server.requests
    assert "JSON Schema" in first["messages"][-1]["content"]
    assert second["messages"][-2] == {"role": "assistant", "content": "抱歉我只会说话"}
    assert "response_format" not in first


def test_connection_refused(monkeypatch):
    with FakeOpenAIServer() as srv:
        url = srv.base_url
    monkeypatch.setenv("ZHAOJING_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", url)
    get_settings.cache_clear()
    with pytest.raises(LLMError, match="无法连接"):
        invoke_text(get_chat_model(), "x", policy=RetryPolicy(retries=1, base_delay=0.01))


def test_max_tokens_truncation_reported(server, openai_env):
    message = openai_env(max_tokens=3).invoke("很长的问题")
    assert message.content == "收到："
    assert message.response_metadata["finish_reason"] == "length"
    assert server.requests[-1].get("max_completion_tokens", server.requests[-1].get("max_tokens")) == 3


def test_structured_call_reasks_after_truncated_stream(server, openai_env):
    """A streamed answer cut off mid-body is asked for again; stats count both requests and tokens."""
    server.responder = lambda messages: '{"title": "小结", "points": ["甲", "乙", "丙"]}'
    server.add_faults("truncated")
    seen, retries, stats = [], [], CallStats()
    result = structured_call(openai_env(), "总结", Summary, on_token=seen.append, on_retry=retries.append, stats=stats,
                             max_tokens=200)
    assert result.points == ["甲", "乙", "丙"]
    assert len(server.requests) == 2 and stats.requests == 2 and stats.retries == 1
    assert retries and "中断" in retries[0]
    body = server.requests[-1]
    assert body.get("max_completion_tokens", body.get("max_tokens")) == 200 and body["stream"] is True
    assert server.requests[-1]["stream_options"] == {"include_usage": True}
    assert stats.output_tokens == len('{"title": "小结", "points": ["甲", "乙", "丙"]}')
    assert stats.input_tokens > 0 and stats.first_token_at is not None


def test_structured_call_truncated_twice_is_a_clear_error(server, openai_env):
    server.responder = lambda messages: '{"title": "小结", "points": ["甲", "乙", "丙"]}'
    server.add_faults("truncated", "truncated")
    with pytest.raises(LLMError) as info:
        structured_call(openai_env(), "总结", Summary, on_token=lambda piece: None)
    assert info.value.message == "模型的回答在传输中途中断（已重新请求 1 次）"
    assert len(server.requests) == 2


@pytest.mark.parametrize("fault", ["429", "500", "503", "reset", "timeout"])
def test_transient_fault_then_success_with_backoff(server, openai_env, fault):
    server.responder = lambda messages: '{"title": "小结", "points": []}'
    server.add_faults(fault)
    retries: list[str] = []
    result = structured_call(openai_env(), "总结", Summary, on_token=lambda piece: None, on_retry=retries.append)
    assert result == Summary(title="小结", points=[])
    assert len(server.requests) == 2 and retries[0].endswith("秒后第 1 次重试")


def test_backoff_doubles_and_honours_retry_after():
    policy = RetryPolicy(retries=3, base_delay=0.5, max_delay=3.0)
    assert [policy.delay(i) for i in range(4)] == [0.5, 1.0, 2.0, 3.0]

    class Busy(Exception):
        response = type("R", (), {"headers": {"retry-after": "2"}})()

    assert policy.delay(0, Busy()) == 2.0


def test_retry_policy_from_env(monkeypatch):
    monkeypatch.setenv("ZHAOJING_LLM_RETRIES", "1")
    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0.2")
    assert RetryPolicy.from_env() == RetryPolicy(retries=1, base_delay=0.2)
    monkeypatch.setenv("ZHAOJING_LLM_RETRIES", "viele")
    assert RetryPolicy.from_env().retries == 2
