"""FakeChatModel, structured_call / invoke_text / stream_text on it, and backend selection."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage
from pydantic import BaseModel, Field

from rag.config import Settings, get_settings
from rag.errors import LLMError, ModelUnavailableError
from rag.llm import (
    ChatLlamaCpp,
    FakeChatModel,
    extract_json,
    get_chat_model,
    invoke_text,
    stream_text,
    structured_call,
)
from rag.llm.fake import DEFAULT_FAKE_RESPONSE, FakeResponseQueueEmpty


class Verdict(BaseModel):
    score: int = Field(ge=0, le=100)
    reason: str


# -- FakeChatModel ---------------------------------------------------------------------------------
def test_queue_is_consumed_in_order_then_default():
    model = FakeChatModel(responses=["第一", {"a": 1, "名": "值"}, Verdict(score=3, reason="短")])
    assert model.invoke("q1").content == "第一"
    assert model.invoke("q2").content == '{"a": 1, "名": "值"}'
    assert Verdict.model_validate_json(model.invoke("q3").content) == Verdict(score=3, reason="短")
    assert model.invoke("q4").content == DEFAULT_FAKE_RESPONSE
    assert model.responses == []


def test_default_response_is_configurable_and_strict_raises():
    assert FakeChatModel(default_response="默认").invoke("x").content == "默认"
    strict = FakeChatModel(strict=True).queue("唯一")
    assert strict.invoke("x").content == "唯一"
    with pytest.raises(FakeResponseQueueEmpty):
        strict.invoke("y")


def test_history_records_messages_and_kwargs():
    model = FakeChatModel()
    messages = [SystemMessage(content="系统"), HumanMessage(content="你好")]
    model.invoke(messages, stop=["。"], json_schema={"type": "object"})
    model.invoke("第二次")
    assert model.history[0] == messages
    assert model.calls[0] == {"stop": ["。"], "json_schema": {"type": "object"}}
    assert [m.content for m in model.last_messages] == ["第二次"]
    assert len(model.history) == len(model.calls) == 2


def test_queued_exception_is_raised_and_recorded():
    model = FakeChatModel().queue(TimeoutError("boom"), "恢复")
    with pytest.raises(TimeoutError):
        model.invoke("x")
    assert model.invoke("y").content == "恢复"
    assert len(model.history) == 2


def test_streaming_is_char_by_char():
    model = FakeChatModel().queue("你好，世界")
    chunks = [c.content for c in model.stream("x")]
    assert [c for c in chunks if c] == list("你好，世界")
    assert model.history[0][0].content == "x"


def test_stream_exception_raises():
    model = FakeChatModel().queue(ConnectionError("down"))
    with pytest.raises(ConnectionError):
        list(model.stream("x"))


def test_instances_do_not_share_state():
    a, b = FakeChatModel(), FakeChatModel()
    a.queue("只给 a")
    b.invoke("x")
    assert a.responses == ["只给 a"] and a.history == []


# -- invoke_text / stream_text ---------------------------------------------------------------------
def test_invoke_text_and_stream_text():
    model = FakeChatModel().queue("答案", "流式答案")
    assert invoke_text(model, "问") == "答案"
    assert "".join(stream_text(model, [HumanMessage(content="问")])) == "流式答案"


def test_empty_answer_is_asked_again_once_then_raises():
    model = FakeChatModel().queue("", "第二次才答")
    assert invoke_text(model, "问") == "第二次才答"
    model = FakeChatModel().queue("", " ", "", "")
    with pytest.raises(LLMError, match="空内容") as info:
        invoke_text(model, "问")
    assert "已重新请求 1 次" in info.value.message
    with pytest.raises(LLMError, match="空内容"):
        list(stream_text(model, "问"))
    assert len(model.history) == 4 and model.responses == []


@pytest.fixture
def fast_retries(monkeypatch):
    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0.001")


def test_transport_errors_in_fake_are_retried_then_mapped(fast_retries):
    model = FakeChatModel().queue(TimeoutError("slow"), TimeoutError("slow"), TimeoutError("slow"))
    with pytest.raises(LLMError, match="超时") as info:
        invoke_text(model, "问")
    assert "已自动重试 2 次" in info.value.message and len(model.history) == 3
    model = FakeChatModel().queue(ConnectionResetError("reset"), "恢复了")
    assert "".join(stream_text(model, "问")) == "恢复了"
    model = FakeChatModel().queue(*[ConnectionResetError("reset")] * 3)
    with pytest.raises(LLMError, match="无法连接"):
        list(stream_text(model, "问"))


def test_unrelated_exceptions_are_not_swallowed():
    model = FakeChatModel().queue(KeyError("bug"))
    with pytest.raises(KeyError):
        invoke_text(model, "问")


# -- structured_call -------------------------------------------------------------------------------
def test_structured_call_parses_and_sends_instruction():
    model = FakeChatModel().queue({"score": 80, "reason": "结构完整"})
    result = structured_call(model, [SystemMessage(content="你是评审"), HumanMessage(content="评分")], Verdict)
    assert result == Verdict(score=80, reason="结构完整")
    sent = model.history[0]
    assert len(sent) == 2 and sent[-1].content.startswith("评分")
    assert "JSON" in sent[-1].content and '"score"' in sent[-1].content
    assert "json_schema" not in model.calls[0]  # only the embedded model gets constrained decoding


@pytest.mark.parametrize(
    "reply",
    [
        '```json\n{"score": 5, "reason": "好"}\n```',
        '好的，结果如下：{"score": 5, "reason": "好"} 以上。',
        'Here: ```\n{"score": 5, "reason": "好"}\n``` done',
    ],
)
def test_structured_call_tolerates_fences_and_prose(reply):
    assert structured_call(FakeChatModel().queue(reply), "评分", Verdict) == Verdict(score=5, reason="好")


def test_structured_call_retries_garbage_then_succeeds():
    model = FakeChatModel().queue("我不会输出 JSON", {"score": 1, "reason": "ok"})
    assert structured_call(model, "评分", Verdict, retries=1).score == 1
    retry_messages = model.history[1]
    assert isinstance(retry_messages[-2], AIMessage) and retry_messages[-2].content == "我不会输出 JSON"
    assert "无法解析" in retry_messages[-1].content


def test_structured_call_gives_up_with_llm_error():
    model = FakeChatModel().queue("胡言乱语", {"score": 900, "reason": "超范围"}, "还有")
    with pytest.raises(LLMError) as info:
        structured_call(model, "评分", Verdict, retries=1)
    assert "无法解析" in info.value.message and info.value.hint
    assert len(model.history) == 2  # 1 try + 1 retry; the third response is left queued
    assert model.responses == ["还有"]


def test_structured_call_retries_zero():
    model = FakeChatModel().queue("garbage")
    with pytest.raises(LLMError):
        structured_call(model, "评分", Verdict, retries=0)
    assert len(model.history) == 1


def test_extract_json():
    assert extract_json('前言 {"a": {"b": [1, 2]}} 后记 {"c": 3}') == {"a": {"b": [1, 2]}}
    assert extract_json('{broken {"ok": true}') == {"ok": True}
    with pytest.raises(ValueError):
        extract_json("没有 JSON")


# -- get_chat_model --------------------------------------------------------------------------------
def test_get_chat_model_fake_from_env():
    model = get_chat_model()
    assert isinstance(model, FakeChatModel)
    assert isinstance(get_chat_model(default_response="x"), FakeChatModel)


def test_get_chat_model_openai(monkeypatch):
    from langchain_openai import ChatOpenAI

    monkeypatch.setenv("ZHAOJING_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", "https://api.example.com/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ZHAOJING_REDACT_REMOTE", "false")  # the redacting wrapper is tested in test_redact.py
    get_settings.cache_clear()
    model = get_chat_model(temperature=0.1)
    assert isinstance(model, ChatOpenAI)
    assert model.model_name == "gpt-4o-mini"
    assert model.openai_api_base == "https://api.example.com/v1"
    assert model.max_retries == 0 and model.request_timeout == 120.0 and model.temperature == 0.1


def test_get_chat_model_openai_uses_settings_model():
    settings = Settings(llm="openai", openai_base_url="http://127.0.0.1:9/v1", model="qwen-plus", llm_timeout=5)
    model = get_chat_model(settings)
    assert model.model_name == "qwen-plus" and model.request_timeout == 5
    assert model.openai_api_key.get_secret_value() == "not-needed"  # loopback server needs no key


@pytest.mark.parametrize(
    ("base_url", "key", "missing"),
    [(None, None, "OPENAI_BASE_URL"), ("https://api.example.com/v1", None, "OPENAI_API_KEY"), (None, "sk", "OPENAI_BASE_URL")],
)
def test_get_chat_model_openai_unconfigured(base_url, key, missing):
    settings = Settings(llm="openai", openai_base_url=base_url, openai_api_key=key)
    with pytest.raises(ModelUnavailableError) as info:
        get_chat_model(settings)
    assert missing in info.value.message and "ZHAOJING_LLM=embedded" in info.value.hint


def test_get_chat_model_embedded_uses_ensure_gguf_without_loading(tmp_path):
    gguf = tmp_path / "custom.gguf"
    gguf.write_bytes(b"GGUF")
    model = get_chat_model(Settings(llm="embedded", gguf=gguf, llm_threads=3), temperature=0.0)
    assert isinstance(model, ChatLlamaCpp)
    assert model.model_path == str(gguf) and model.n_threads == 3 and model.temperature == 0.0
    assert model._llm_type == "llama-cpp-embedded"


def test_get_chat_model_embedded_missing_user_gguf(tmp_path):
    with pytest.raises(ModelUnavailableError, match="ZHAOJING_GGUF"):
        get_chat_model(Settings(llm="embedded", gguf=tmp_path / "nope.gguf"))


def test_structured_call_streams_tokens_to_callback():
    seen: list[str] = []
    model = FakeChatModel().queue("坏", '{"score": 7, "reason": "流"}')
    assert structured_call(model, "评分", Verdict, on_token=seen.append) == Verdict(score=7, reason="流")
    assert "".join(seen) == '坏{"score": 7, "reason": "流"}'


def test_instruction_added_as_new_message_after_system():
    model = FakeChatModel().queue({"score": 1, "reason": "r"})
    structured_call(model, [SystemMessage(content="只有系统消息")], Verdict)
    sent = model.history[0]
    assert [m.type for m in sent] == ["system", "human"] and "JSON Schema" in sent[1].content
