"""``RedactingChatModel``: wraps a chat model so no personal data leaves the machine.

Every outgoing message is redacted with one :class:`~rag.redact.Redactor` per call (names from the
wrapper's ``names``, from :func:`rag.redact.redaction_names` blocks and from facts files loaded in this
process; phones, ID numbers and e-mails by pattern). The answer comes back with the originals restored —
also when streamed, where a placeholder split across chunks is held back until it is complete.

``rag.llm.get_chat_model`` wraps the OpenAI-compatible model in it when ``settings.redact_remote`` is on
and the endpoint is not on this machine.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag.redact import Redactor

__all__ = ["RedactingChatModel", "redact_messages"]


def _redact_content(content: Any, redactor: Redactor) -> Any:
    """Redact a message's content: a string, or a list of text blocks / strings."""
    if isinstance(content, str):
        return redactor.redact(content)
    if isinstance(content, list):
        out = []
        for block in content:
            if isinstance(block, str):
                out.append(redactor.redact(block))
            elif isinstance(block, dict) and isinstance(block.get("text"), str):
                out.append({**block, "text": redactor.redact(block["text"])})
            else:
                out.append(block)
        return out
    return content


def redact_messages(messages: list[BaseMessage], redactor: Redactor) -> list[BaseMessage]:
    """Copies of ``messages`` with their content redacted (placeholders consistent across messages)."""
    return [m.model_copy(update={"content": _redact_content(m.content, redactor)}) for m in messages]


class RedactingChatModel(BaseChatModel):
    """Chat model wrapper: redact every outgoing message, restore the answer (also streamed)."""

    inner: BaseChatModel
    """The model that actually answers (e.g. ChatOpenAI)."""
    names: list[str] = Field(default_factory=list)
    """Extra names to redact on every call."""

    @property
    def _llm_type(self) -> str:
        return f"redacting-{self.inner._llm_type}"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"inner": self.inner._llm_type}

    def new_redactor(self) -> Redactor:
        """A fresh redactor for one call (names from this wrapper and the current context)."""
        return Redactor(names=list(self.names))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        redactor = self.new_redactor()
        answer = self.inner.invoke(redact_messages(messages, redactor), stop=stop, **kwargs)
        content = answer.content if isinstance(answer.content, str) else answer.text
        restored = AIMessage(
            content=redactor.restore(str(content)),
            response_metadata=dict(answer.response_metadata or {}),
            usage_metadata=getattr(answer, "usage_metadata", None),
            id=answer.id,
        )
        return ChatResult(generations=[ChatGeneration(message=restored)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        redactor = self.new_redactor()
        restorer = redactor.stream_restorer()
        for chunk in self.inner.stream(redact_messages(messages, redactor), stop=stop, **kwargs):
            piece = restorer.feed(chunk.content if isinstance(chunk.content, str) else chunk.text)
            yield self._chunk(piece, chunk, run_manager)
        tail = restorer.flush()
        if tail:
            yield self._chunk(tail, None, run_manager)

    @staticmethod
    def _chunk(
        text: str, source: AIMessageChunk | None, run_manager: CallbackManagerForLLMRun | None
    ) -> ChatGenerationChunk:
        """A chunk carrying restored ``text`` and the source chunk's metadata (finish reason, usage)."""
        extra: dict[str, Any] = {}
        if source is not None:
            extra = {
                "response_metadata": dict(source.response_metadata or {}),
                "usage_metadata": source.usage_metadata,
                "id": source.id,
            }
        chunk = ChatGenerationChunk(message=AIMessageChunk(content=text, **extra))
        if run_manager and text:
            run_manager.on_llm_new_token(text, chunk=chunk)
        return chunk
