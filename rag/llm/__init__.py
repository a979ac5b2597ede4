"""The model seam: pick a chat model from settings, call it, get text or validated structures.

* :func:`get_chat_model` – ``embedded`` (llama.cpp, offline), ``openai`` (any OpenAI-compatible
  endpoint) or ``fake`` (scripted, for tests).
* :func:`invoke_text`, :func:`stream_text` – plain text out; transport failures become LLMError.
* :func:`structured_call` – a pydantic object out (constrained decoding on the embedded model,
  JSON-in-prompt plus parsing and retries elsewhere).
* :func:`llm_errors` / :func:`map_llm_error` – the exception mapping, for callers using LCEL.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage
from pydantic import BaseModel

from rag.config import Settings, get_settings
from rag.errors import LLMError, ModelUnavailableError, ZhaojingError
from rag.llm.embedded import ChatLlamaCpp
from rag.llm.fake import FakeChatModel
from rag.llm.gguf import ensure_gguf

__all__ = [
    "DEFAULT_OPENAI_MODEL",
    "ChatLlamaCpp",
    "FakeChatModel",
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
OPENAI_MAX_RETRIES = 2
_LOOPBACK = ("://127.0.0.1", "://localhost", "://[::1]")
_FENCE = re.compile(r"```[a-zA-Z0-9_-]*\s*\n?(.*?)```", re.DOTALL)
_SWITCH_HINT = "若反复出现，可换用更大的模型（设置 ZHAOJING_GGUF，或 ZHAOJING_LLM=openai）"

Messages = str | Sequence[BaseMessage]
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
    """One call, text out. Transport failures and empty answers raise LLMError (Chinese)."""
    with llm_errors():
        text = str(model.invoke(_as_messages(messages), **kwargs).text)
    if not text.strip():
        raise LLMError("模型返回了空内容", f"请重试；{_SWITCH_HINT}")
    return text


def stream_text(model: BaseChatModel, messages: Messages, **kwargs: Any) -> Iterator[str]:
    """Yield the answer's text pieces as they arrive; failures (also mid-stream) raise LLMError."""
    produced = False
    with llm_errors():
        for chunk in model.stream(_as_messages(messages), **kwargs):
            text = str(chunk.text)
            if text:
                produced = True
                yield text
    if not produced:
        raise LLMError("模型返回了空内容", f"请重试；{_SWITCH_HINT}")


# -- structured output ---------------------------------------------------------------------------
def structured_call(
    model: BaseChatModel,
    messages: Messages,
    schema: type[T],
    *,
    retries: int = 1,
    on_token: Callable[[str], None] | None = None,
) -> T:
    """Ask for an instance of ``schema`` and return it validated.

    On the embedded model decoding is constrained to ``schema.model_json_schema()``; other
    models get a Chinese JSON instruction and their reply is parsed leniently (code fences,
    surrounding prose). Unparseable replies are retried ``retries`` times with a correction
    message, then LLMError is raised. With ``on_token`` the answer is streamed and every text
    piece is passed to it (e.g. to show progress).
    """
    json_schema = schema.model_json_schema()
    call_kwargs = {"json_schema": json_schema} if isinstance(model, ChatLlamaCpp) else {}
    convo = with_json_instruction(_as_messages(messages), json_schema)
    last_error: Exception | None = None
    for _ in range(retries + 1):
        text = _raw_text(model, convo, on_token, call_kwargs)
        try:
            return schema.model_validate(extract_json(text))
        except ValueError as exc:  # JSON errors and pydantic ValidationError alike
            last_error = exc
            convo = [*convo, AIMessage(content=text[:2000]), HumanMessage(content=_correction(exc))]
    raise LLMError(
        f"模型返回的内容无法解析为所需的结构（{schema.__name__}），已重试 {retries} 次",
        f"请重试；{_SWITCH_HINT}",
    ) from last_error


def _raw_text(
    model: BaseChatModel, convo: list[BaseMessage], on_token: Callable[[str], None] | None, kwargs: dict[str, Any]
) -> str:
    """The reply's full text, streamed through ``on_token`` when given; errors mapped, empty allowed."""
    with llm_errors():
        if on_token is None:
            return str(model.invoke(convo, **kwargs).text)
        parts: list[str] = []
        for chunk in model.stream(convo, **kwargs):
            if piece := str(chunk.text):
                parts.append(piece)
                on_token(piece)
        return "".join(parts)


def json_instruction(json_schema: dict[str, Any]) -> str:
    """The Chinese "answer with JSON only" instruction appended to structured requests."""
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


def with_json_instruction(messages: list[BaseMessage], json_schema: dict[str, Any]) -> list[BaseMessage]:
    """Append :func:`json_instruction` to the last human message (or add a human message)."""
    instruction = json_instruction(json_schema)
    last = messages[-1] if messages else None
    if isinstance(last, HumanMessage) and isinstance(last.content, str):
        return [*messages[:-1], HumanMessage(content=f"{last.content}\n\n{instruction}")]
    return [*messages, HumanMessage(content=instruction)]


_with_instruction = with_json_instruction  # kept for existing callers (rag.draft.pipeline)


def _as_messages(messages: Messages) -> list[BaseMessage]:
    if isinstance(messages, str):
        return [HumanMessage(content=messages)]
    return list(messages)


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


def map_llm_error(exc: BaseException) -> LLMError | None:
    """The LLMError for a model-call failure, or None when ``exc`` is not one (a bug, say)."""
    import httpx
    import openai

    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError):
        return LLMError("模型服务超时", "请稍后重试，或在 .env 中调大 ZHAOJING_LLM_TIMEOUT")
    if isinstance(exc, openai.APIStatusError):
        return _status_error(exc.status_code)
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return LLMError("无法连接模型服务，或连接中途断开", "请检查网络与 OPENAI_BASE_URL；本地服务请确认已启动")
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError) or (
        isinstance(exc, ValueError) and "generation chunks" in str(exc)
    ):
        return LLMError(
            "模型服务返回了无法识别的响应", "请确认 OPENAI_BASE_URL 指向 OpenAI 兼容接口（通常以 /v1 结尾）"
        )
    return None


def _status_error(status: int) -> LLMError:
    if status == 429:
        return LLMError("模型服务繁忙（429）", "请求过于频繁或额度不足，请稍后重试")
    if status in (401, 403):
        return LLMError(f"模型服务拒绝访问（{status}）", "请检查 OPENAI_API_KEY 是否正确、是否有权限")
    if status == 404:
        return LLMError("模型服务找不到接口或模型（404）", "请检查 OPENAI_BASE_URL（通常以 /v1 结尾）和 ZHAOJING_MODEL")
    if status >= 500:
        return LLMError(f"模型服务出错（{status}）", "服务端暂时故障，请稍后重试")
    return LLMError(f"模型服务拒绝了请求（{status}）", "可能是输入过长或参数不被支持；请缩短材料后重试")
