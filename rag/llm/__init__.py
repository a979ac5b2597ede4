"""The model seam: pick a chat model from settings, call it, get text or validated structures.

* :func:`get_chat_model` – ``embedded`` (llama.cpp, offline), ``openai`` (any OpenAI-compatible
  endpoint) or ``fake`` (scripted, for tests).
* :func:`invoke_text`, :func:`stream_text` – plain text out; transport failures become LLMError.
* :func:`structured_call` – a pydantic object out (constrained decoding on the embedded model,
  JSON-in-prompt plus parsing and retries elsewhere); the one structured-call path.
* Faults (timeouts, 429/5xx, resets, truncated/garbage/empty answers) follow one policy with bounded
  retries and backoff: :mod:`rag.llm.calls` (:class:`RetryPolicy`, :class:`CallStats`).
* :func:`llm_errors` / :func:`map_llm_error` – the exception mapping, for callers using LCEL.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from rag.config import Settings, get_settings
from rag.errors import LLMError, ModelUnavailableError, ZhaojingError
from rag.llm.calls import (
    CallStats,
    Messages,
    RetryPolicy,
    as_messages,
    complete,
    is_transient,
    map_llm_error,
    stream_text,
)
from rag.llm.embedded import ChatLlamaCpp
from rag.llm.fake import FakeChatModel
from rag.llm.gguf import ensure_gguf

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "CallStats",
    "ChatLlamaCpp",
    "FakeChatModel",
    "RetryPolicy",
    "complete",
    "is_transient",
    "ensure_gguf",
    "extract_json",
    "get_chat_model",
    "invoke_text",
    "json_instruction",
    "llm_errors",
    "map_llm_error",
    "stream_text",
    "structured_call",
    "with_json_instruction",
]

DEFAULT_OPENAI_MODEL = "gpt-4o-mini"
OPENAI_MAX_RETRIES = 0  # retries happen in the seam (rag.llm.calls), with one policy for every backend
_LOOPBACK = ("://127.0.0.1", "://localhost", "://[::1]")
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_SWITCH_HINT = "若反复出现，可换用更大的模型（设置 ZHAOJING_GGUF，或 ZHAOJING_LLM=openai）"

T = TypeVar("T", bound=BaseModel)


# -- model selection ---------------------------------------------------------------------------
def get_chat_model(settings: Settings | None = None, **overrides: Any) -> BaseChatModel:
    """Chat model for ``settings.llm``; ``overrides`` go to the model constructor (e.g. temperature)."""
    settings = settings or get_settings()
    if settings.llm == "embedded":
        return _embedded_model(settings, overrides)
    if settings.llm == "openai":
        return _openai_model(settings, overrides)
    return FakeChatModel(**overrides)


def _embedded_model(settings: Settings, overrides: dict[str, Any]) -> ChatLlamaCpp:
    params: dict[str, Any] = {"n_threads": settings.llm_threads, **overrides}
    return ChatLlamaCpp(model_path=str(ensure_gguf(settings)), **params)


def _openai_model(settings: Settings, overrides: dict[str, Any]) -> BaseChatModel:
    from langchain_openai import ChatOpenAI

    base_url = settings.openai_base_url
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    local = bool(base_url) and any(h in base_url for h in _LOOPBACK)
    if not base_url or not (key or local):
        missing = "、".join(n for n, v in (("OPENAI_BASE_URL", base_url), ("OPENAI_API_KEY", key)) if not v)
        raise ModelUnavailableError(
            f"已选择远程模型（ZHAOJING_LLM=openai），但没有配置 {missing}",
            "请在 .env 中填写 OPENAI_BASE_URL 和 OPENAI_API_KEY，或改用 ZHAOJING_LLM=embedded 使用内置离线模型",
        )
    params: dict[str, Any] = {
        "base_url": base_url,
        "api_key": key or "not-needed",  # local OpenAI-compatible servers usually ignore the key
        "model": settings.model or DEFAULT_OPENAI_MODEL,
        "timeout": settings.llm_timeout,
        "max_retries": OPENAI_MAX_RETRIES,
    }
    model = ChatOpenAI(**{**params, **overrides})
    if settings.redact_remote and settings.is_remote:  # personal data never leaves the machine (rag.redact)
        from rag.llm.redacting import RedactingChatModel

        return RedactingChatModel(inner=model)
    return model


# -- plain text ----------------------------------------------------------------------------------
def invoke_text(model: BaseChatModel, messages: Messages, **kwargs: Any) -> str:
    """One answer, text out, under the fault policy (:mod:`rag.llm.calls`); failures raise LLMError."""
    return complete(model, messages, **kwargs)


# -- structured output ---------------------------------------------------------------------------
def structured_call(
    model: BaseChatModel,
    messages: Messages,
    schema: type[T],
    *,
    retries: int = 1,
    max_tokens: int | None = None,
    on_token: Callable[[str], None] | None = None,
    on_retry: Callable[[str], None] | None = None,
    stats: CallStats | None = None,
    policy: RetryPolicy | None = None,
    json_schema: dict[str, Any] | None = None,
) -> T:
    """Ask for an instance of ``schema`` and return it validated.

    On the embedded model decoding is constrained to ``schema.model_json_schema()`` and the prompt
    only asks for JSON (the grammar carries the schema, which keeps the prompt short); other models
    get the schema in a Chinese JSON instruction and their reply is parsed leniently (code fences,
    surrounding prose). Transport faults follow :class:`RetryPolicy`; unparseable replies are asked
    again ``retries`` times with a correction message, then LLMError is raised. With ``on_token``
    the answer is streamed piece by piece; ``stats`` counts requests, tokens and the first token.
    ``json_schema`` replaces ``schema``'s own JSON schema for decoding and the instruction (e.g. with
    a tighter ``maxItems``); the answer is still validated against ``schema``.
    """
    json_schema = json_schema or schema.model_json_schema()
    constrained = isinstance(model, ChatLlamaCpp)
    kwargs: dict[str, Any] = {"json_schema": json_schema} if constrained else {}
    if max_tokens is not None:
        kwargs["max_tokens"] = max_tokens
    convo = with_json_instruction(_as_messages(messages), json_schema, brief=constrained)
    options = {"on_token": on_token, "on_retry": on_retry, "stats": stats, "policy": policy}
    last_error: Exception | None = None
    for attempt in range(retries + 1):
        text = complete(model, convo, **options, **kwargs)
        try:
            return schema.model_validate(extract_json(text))
        except ValueError as exc:  # JSON errors and pydantic ValidationError alike
            last_error = exc
            if attempt < retries:
                _tell(on_retry, "模型输出的格式不对，要求其改正后重新输出")
            convo = [*convo, AIMessage(content=text[:2000]), HumanMessage(content=_correction(exc))]
    raise LLMError(
        f"模型返回的内容无法解析为所需的结构（{schema.__name__}），已重试 {retries} 次",
        f"请重试；{_SWITCH_HINT}",
    ) from last_error


def _tell(callback: Callable[[str], None] | None, message: str) -> None:
    if callback is not None:
        callback(message)


def json_instruction(json_schema: dict[str, Any], brief: bool = False) -> str:
    """The Chinese "answer with JSON only" instruction appended to structured requests.

    ``brief`` (for grammar-constrained decoding, where the schema is enforced anyway) leaves the
    schema out: on the embedded model its ~300 tokens cost seconds of prompt processing per call.
    """
    if brief:
        return "请只输出一个 JSON 对象。"
    dumped = json.dumps(json_schema, ensure_ascii=False, separators=(",", ":"))
    return f"请只输出一个 JSON 对象，不要输出任何解释或代码块标记。JSON 必须符合以下 JSON Schema：\n{dumped}"


def extract_json(text: str) -> Any:
    """First JSON object in ``text`` (inside a ``` fence if there is one); ValueError if none."""
    fenced = _FENCE.search(text)
    candidates = [fenced.group(1), text] if fenced else [text]
    decoder = json.JSONDecoder()
    for candidate in candidates:
        for match in re.finditer(r"\{", candidate):
            try:
                return decoder.raw_decode(candidate, match.start())[0]
            except ValueError:
                continue
    raise ValueError("回复中没有找到 JSON 对象")


def _correction(exc: Exception) -> str:
    detail = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
    return f"上面的输出无法解析（{detail}）。请重新输出：只输出一个符合上述 Schema 的 JSON 对象。"


def with_json_instruction(
    messages: list[BaseMessage], json_schema: dict[str, Any], brief: bool = False
) -> list[BaseMessage]:
    """Append :func:`json_instruction` to the last human message (or add a human message)."""
    instruction = json_instruction(json_schema, brief)
    last = messages[-1] if messages else None
    if isinstance(last, HumanMessage) and isinstance(last.content, str):
        return [*messages[:-1], HumanMessage(content=f"{last.content}\n\n{instruction}")]
    return [*messages, HumanMessage(content=instruction)]


_as_messages = as_messages


# -- error mapping -------------------------------------------------------------------------------
@contextlib.contextmanager
def llm_errors() -> Iterator[None]:
    """Re-raise model transport/protocol failures as LLMError; our own errors pass through."""
    try:
        yield
    except ZhaojingError:
        raise
    except Exception as exc:
        mapped = map_llm_error(exc)
        if mapped is None:
            raise
        raise mapped from exc
