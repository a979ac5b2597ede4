"""ChatLlamaCpp plumbing with a stand-in for ``llama_cpp.Llama`` (fast; the real model is in test_llm_embedded)."""

from __future__ import annotations

import json
import types
from typing import Any

import pytest
from langchain_core.messages import AIMessage, ChatMessage, HumanMessage, SystemMessage
from pydantic import BaseModel

from rag.errors import LLMError
from rag.llm import ChatLlamaCpp, stream_text, structured_call
from rag.llm.embedded import LoadedModel, _model_params_patch, to_llama_messages


class Pair(BaseModel):
    name: str
    count: int


class StubLlama:
    """Records create_chat_completion calls; answers with ``reply``."""

    def __init__(self, reply: str = "你好") -> None:
        self.reply, self.calls, self.n_tokens = reply, [], 0

    def create_chat_completion(self, stream: bool = False, **request: Any) -> Any:
        self.calls.append(request)
        if len(str(request["messages"])) > 10_000:
            raise ValueError("Requested tokens (9999) exceed context window of 4096")
        self.n_tokens = 20 + len(self.reply)
        if stream:
            return self._events()
        usage = {"prompt_tokens": 20, "completion_tokens": len(self.reply), "total_tokens": 20 + len(self.reply)}
        choice = {"index": 0, "message": {"role": "assistant", "content": self.reply}, "finish_reason": "stop"}
        return {"choices": [choice], "usage": usage}

    def _events(self):
        yield {"choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]}
        for char in self.reply:
            yield {"choices": [{"index": 0, "delta": {"content": char}, "finish_reason": None}]}
        yield {"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}

    def tokenize(self, data: bytes, add_bos: bool = False, special: bool = False) -> list[int]:
        return list(range(len(data.decode("utf-8"))))


@pytest.fixture
def stub(monkeypatch) -> StubLlama:
    llama = StubLlama()
    loaded = LoadedModel(llama=llama, load_seconds=0.0)
    monkeypatch.setattr(ChatLlamaCpp, "load", lambda self: loaded)
    return llama


def make_model(**kwargs: Any) -> ChatLlamaCpp:
    return ChatLlamaCpp(model_path="/nonexistent/model.gguf", **kwargs)


def test_generate_maps_request_and_usage(stub):
    model = make_model(temperature=0.0, max_tokens=50)
    message = model.invoke([SystemMessage(content="系统"), HumanMessage(content="问")], stop=["。"])
    assert message.content == "你好"
    assert message.usage_metadata == {"input_tokens": 20, "output_tokens": 2, "total_tokens": 22}
    assert message.response_metadata["finish_reason"] == "stop"
    request = stub.calls[0]
    assert request["messages"] == [{"role": "system", "content": "系统"}, {"role": "user", "content": "问"}]
    assert request["temperature"] == 0.0 and request["max_tokens"] == 50 and request["stop"] == ["。"]
    assert "response_format" not in request


def test_json_schema_field_and_kwarg(stub):
    schema = {"type": "object", "properties": {"a": {"type": "integer"}}}
    make_model(json_schema=schema).invoke("x")
    make_model().invoke("x", json_schema=schema, max_tokens=7)
    for request in stub.calls:
        assert request["response_format"] == {"type": "json_object", "schema": schema}
    assert stub.calls[1]["max_tokens"] == 7


def test_stream_yields_tokens_then_usage(stub):
    stub.reply = "流式回答"
    chunks = list(make_model().stream("x"))
    assert [c.content for c in chunks if c.content] == list("流式回答")
    total = sum(chunks[1:], chunks[0])
    assert total.content == "流式回答"
    assert total.usage_metadata == {"input_tokens": 20, "output_tokens": 4, "total_tokens": 24}
    assert total.response_metadata["finish_reason"] == "stop"
    assert "".join(stream_text(make_model(), "x")) == "流式回答"


def test_structured_call_uses_constrained_decoding(stub):
    stub.reply = json.dumps({"name": "北京", "count": 2}, ensure_ascii=False)
    assert structured_call(make_model(), "问", Pair) == Pair(name="北京", count=2)
    assert stub.calls[0]["response_format"]["schema"] == Pair.model_json_schema()


def test_context_overflow_becomes_llm_error(stub):
    with pytest.raises(LLMError, match="上下文窗口"):
        make_model().invoke("长" * 20_000)


def test_message_roles():
    messages = [SystemMessage(content="s"), HumanMessage(content="h"), AIMessage(content="a"), ChatMessage(role="user", content="c")]
    assert [m["role"] for m in to_llama_messages(messages)] == ["system", "user", "assistant", "user"]


def test_model_params_patch_disables_extra_bufts_only_while_loading():
    params = types.SimpleNamespace(use_extra_bufts=True)
    inner = types.SimpleNamespace(llama_model_default_params=lambda: types.SimpleNamespace(**vars(params)))
    fake_llama_cpp = types.SimpleNamespace(llama_cpp=inner)
    original = inner.llama_model_default_params
    with _model_params_patch(fake_llama_cpp, extra_bufts=False):
        assert inner.llama_model_default_params().use_extra_bufts is False
    assert inner.llama_model_default_params is original
    with _model_params_patch(fake_llama_cpp, extra_bufts=True):
        assert inner.llama_model_default_params().use_extra_bufts is True


def test_structured_call_keeps_the_schema_out_of_the_prompt(stub):
    """The grammar enforces the schema; the prompt only asks for JSON (saves ~300 tokens of prefill)."""
    from rag.llm import CallStats

    stub.reply = json.dumps({"name": "北京", "count": 2}, ensure_ascii=False)
    stats, seen = CallStats(), []
    structured_call(make_model(), "问", Pair, max_tokens=64, stats=stats, on_token=seen.append)
    request = stub.calls[0]
    assert request["messages"][-1]["content"] == "问\n\n请只输出一个 JSON 对象。"
    assert request["max_tokens"] == 64 and "".join(seen) == stub.reply
    assert stats.requests == 1 and stats.output_tokens == len(stub.reply) and stats.first_token_at is not None
