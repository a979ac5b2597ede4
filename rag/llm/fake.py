"""``FakeChatModel``: a scripted chat model for tests and ``ZHAOJING_LLM=fake``.

Responses are consumed from a queue, one per call: ``str`` is returned as is, ``dict``/``list`` as
JSON, a pydantic model as its JSON, an ``Exception`` instance is raised. Every call's messages go to
``history`` and its keyword arguments (``stop``, ``json_schema`` …) to ``calls``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import BaseModel, Field, PrivateAttr

DEFAULT_FAKE_RESPONSE = "（测试模型）好的。"


class FakeResponseQueueEmpty(AssertionError):
    """A strict FakeChatModel was called with nothing left in its queue."""


def render_response(item: Any) -> str:
    """Text a queued item stands for (exceptions are handled by the caller)."""
    if isinstance(item, str):
        return item
    if isinstance(item, BaseModel):
        return item.model_dump_json()
    if isinstance(item, dict | list):
        return json.dumps(item, ensure_ascii=False)
    raise TypeError(f"FakeChatModel cannot render a queued {type(item).__name__}")


class FakeChatModel(BaseChatModel):
    """Scripted chat model: pops one queued response per call and records what it was sent."""

    responses: list[Any] = Field(default_factory=list)
    """Queue of str | dict | list | BaseModel | Exception, consumed front first."""
    default_response: str = DEFAULT_FAKE_RESPONSE
    """Returned when the queue is empty (unless ``strict``)."""
    strict: bool = False
    """Raise FakeResponseQueueEmpty instead of using ``default_response``."""
    history: list[list[BaseMessage]] = Field(default_factory=list)
    """Messages of every call, in order."""
    calls: list[dict[str, Any]] = Field(default_factory=list)
    """Keyword arguments of every call (``stop`` included), parallel to ``history``."""

    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def _llm_type(self) -> str:
        return "fake-chat-model"

    @classmethod
    def from_script(cls, path: str | Path | None) -> FakeChatModel:
        """A fake model from a JSON script (for servers started by tests, ``ZHAOJING_FAKE_SCRIPT``): a list of
        queued responses, ``{"responses": [...], "default_response": ...}``, or ``{"scripted": true}`` for
        the cooperative scripted drafter (:class:`rag.evals.scripted.ScriptedChatModel`)."""
        if not path:
            return cls()
        script = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(script, list):
            return cls(responses=script)
        if script.get("scripted"):
            from rag.evals.scripted import ScriptedChatModel

            return ScriptedChatModel()
        default = script.get("default_response")
        if default is not None and not isinstance(default, str):
            default = json.dumps(default, ensure_ascii=False)
        extra = {"default_response": default} if default is not None else {}
        return cls(responses=list(script.get("responses", [])), **extra)

    def queue(self, *items: Any) -> FakeChatModel:
        """Append responses to the queue; returns self for chaining."""
        with self._lock:
            self.responses.extend(items)
        return self

    @property
    def last_messages(self) -> list[BaseMessage]:
        """Messages of the most recent call (empty list before any call)."""
        return self.history[-1] if self.history else []

    def _next_text(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str:
        """Record the call, pop the next response; raise it if it is an exception."""
        with self._lock:
            self.history.append(list(messages))
            self.calls.append({"stop": stop, **kwargs})
            if self.responses:
                item = self.responses.pop(0)
            elif self.strict:
                raise FakeResponseQueueEmpty(f"FakeChatModel: no response queued for call #{len(self.history)}")
            else:
                item = self.default_response
        if isinstance(item, BaseException):
            raise item
        return render_response(item)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = self._next_text(messages, stop, kwargs)
        message = AIMessage(content=text, response_metadata={"finish_reason": "stop"})
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        text = self._next_text(messages, stop, kwargs)
        for char in text:
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=char))
            if run_manager:
                run_manager.on_llm_new_token(char, chunk=chunk)
            yield chunk
        final = AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
        yield ChatGenerationChunk(message=final, generation_info={"finish_reason": "stop"})
