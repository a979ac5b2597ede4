"""Model calls with one fault policy for every backend: text, streamed text, validated structures.

* Transient transport faults – timeout, 429, 408/409, 5xx, connection refused or reset before any
  output – are retried ``RetryPolicy.retries`` times with exponential backoff (``base_delay``
  doubling per retry, a server's Retry-After honoured, capped at ``max_delay``).
* Unusable output – an empty answer, a body that is not the protocol, a stream cut off mid-answer –
  is asked for again ``RetryPolicy.reasks`` times (once by default).
* :func:`structured_call` also re-asks, with a correction message, when the answer does not parse
  or validate (its ``retries``).

After that a Chinese :class:`~rag.errors.LLMError` says what happened and what to do. The OpenAI
client's own retries are switched off (``rag.llm.OPENAI_MAX_RETRIES``) so that faults are not
retried twice over. ``ZHAOJING_LLM_RETRIES`` and ``ZHAOJING_LLM_RETRY_BASE`` (seconds) override
the defaults; tests set the base low to run fast.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage

from rag.errors import LLMError, ZhaojingError

Messages = str | Sequence[BaseMessage]
Notify = Callable[[str], None]
SWITCH_HINT = "若反复出现，可换用更大的模型（设置 ZHAOJING_GGUF，或 ZHAOJING_LLM=openai）"
TRANSIENT_STATUS = frozenset({408, 409, 429})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently to retry (see the module docstring)."""

    retries: int = 2
    base_delay: float = 1.0
    max_delay: float = 10.0
    reasks: int = 1

    @classmethod
    def from_env(cls) -> RetryPolicy:
        """Defaults, overridden by ``ZHAOJING_LLM_RETRIES`` / ``ZHAOJING_LLM_RETRY_BASE`` when valid."""
        retries = _env_number("ZHAOJING_LLM_RETRIES", cls.retries, int)
        base = _env_number("ZHAOJING_LLM_RETRY_BASE", cls.base_delay, float)
        return cls(retries=max(0, int(retries)), base_delay=max(0.0, float(base)))

    def delay(self, retry: int, exc: BaseException | None = None) -> float:
        """Seconds to wait before retry number ``retry`` (0-based)."""
        wait = self.base_delay * 2**retry
        hinted = retry_after(exc)
        if hinted is not None:
            wait = max(wait, hinted)
        return min(wait, self.max_delay)


def _env_number(name: str, default: float, kind: type) -> float:
    try:
        return kind(os.environ[name])
    except (KeyError, ValueError):
        return default


def retry_after(exc: BaseException | None) -> float | None:
    """Seconds a server asked us to wait (Retry-After / retry-after-ms headers), if any."""
    headers = getattr(getattr(exc, "response", None), "headers", None)
    if not headers:
        return None
    for name, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        try:
            return float(headers[name]) / divisor
        except (KeyError, TypeError, ValueError):
            continue
    return None


@dataclass
class CallStats:
    """Counters over one or more calls: requests sent, tokens, retries, when the first text arrived."""

    requests: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    retries: int = 0
    first_token_at: float | None = None
    """``time.perf_counter()`` when the first text piece arrived."""

    @property
    def tokens(self) -> int:
        """Input plus output tokens, as reported by the backend."""
        return self.input_tokens + self.output_tokens

    def count_usage(self, message: Any) -> None:
        """Add a message's (or final stream chunk's) reported token usage."""
        usage = getattr(message, "usage_metadata", None) or {}
        self.input_tokens += int(usage.get("input_tokens", 0) or 0)
        self.output_tokens += int(usage.get("output_tokens", 0) or 0)


class _Fault(Exception):
    """One failed attempt: ``kind`` is transient | malformed | fatal; ``error`` the Chinese error."""

    def __init__(self, kind: str, error: LLMError) -> None:
        super().__init__(error.message)
        self.kind, self.error = kind, error


# -- classification ----------------------------------------------------------------------------
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
    if _is_garbage(exc):
        return LLMError(
            "模型服务返回了无法识别的响应", "请确认 OPENAI_BASE_URL 指向 OpenAI 兼容接口（通常以 /v1 结尾）"
        )
    return None


def _is_garbage(exc: BaseException) -> bool:
    import openai

    return isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError) or (
        isinstance(exc, ValueError) and "generation chunks" in str(exc)
    )


def is_transient(exc: BaseException) -> bool:
    """True for faults worth retrying after a pause: timeouts, 408/409/429/5xx, connection errors."""
    import httpx
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code in TRANSIENT_STATUS or exc.status_code >= 500
    return isinstance(
        exc, openai.APIConnectionError | httpx.TimeoutException | httpx.TransportError | TimeoutError | ConnectionError
    )


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


def _fault(exc: BaseException, received: bool) -> _Fault | None:
    """Classify a failed attempt; None when ``exc`` is not a model-call failure."""
    mapped = map_llm_error(exc)
    if mapped is None:
        return None
    if received:  # the answer started and broke off: ask again rather than wait and retry
        return _Fault("malformed", LLMError("模型的回答在传输中途中断", f"请重试；{mapped.hint}"))
    if is_transient(exc):
        return _Fault("transient", mapped)
    return _Fault("malformed" if _is_garbage(exc) else "fatal", mapped)


def _empty() -> _Fault:
    return _Fault("malformed", LLMError("模型返回了空内容", f"请重试；{SWITCH_HINT}"))


# -- one attempt -------------------------------------------------------------------------------
def _attempt(
    model: BaseChatModel, convo: list[BaseMessage], on_token: Notify | None, stats: CallStats, kwargs: dict[str, Any]
) -> str:
    """Send one request; the answer's text, or a _Fault. Streams (pieces to ``on_token``) when asked."""
    stats.requests += 1
    parts: list[str] = []
    try:
        if on_token is None:
            message = model.invoke(convo, **kwargs)
            stats.count_usage(message)
            parts.append(str(message.text))
        else:
            for chunk in model.stream(convo, **_stream_kwargs(model, kwargs)):
                if piece := str(chunk.text):
                    if stats.first_token_at is None:
                        stats.first_token_at = time.perf_counter()
                    parts.append(piece)
                    on_token(piece)
                stats.count_usage(chunk)
    except ZhaojingError:
        raise
    except Exception as exc:
        fault = _fault(exc, received=bool(parts))
        if fault is None:
            raise
        raise fault from exc
    text = "".join(parts)
    if not text.strip():
        raise _empty()
    return text


def _stream_kwargs(model: BaseChatModel, kwargs: dict[str, Any]) -> dict[str, Any]:
    """ChatOpenAI reports token usage in a stream only when asked (other models ignore this)."""
    inner = getattr(model, "inner", model)  # RedactingChatModel forwards keyword arguments
    if type(inner).__name__ in ("ChatOpenAI", "AzureChatOpenAI") and "stream_usage" not in kwargs:
        return {**kwargs, "stream_usage": True}
    return kwargs


# -- public calls ------------------------------------------------------------------------------
def complete(
    model: BaseChatModel,
    messages: Messages,
    *,
    on_token: Notify | None = None,
    on_retry: Notify | None = None,
    stats: CallStats | None = None,
    policy: RetryPolicy | None = None,
    **kwargs: Any,
) -> str:
    """The answer's full text under the fault policy; streamed through ``on_token`` when given.

    ``on_retry`` receives a Chinese status line before every retry (text already passed to
    ``on_token`` by a failed attempt is void). ``stats`` accumulates requests and tokens.
    """
    policy = policy or RetryPolicy.from_env()
    stats = stats if stats is not None else CallStats()
    convo = as_messages(messages)
    waited = reasked = 0
    while True:
        try:
            return _attempt(model, convo, on_token, stats, kwargs)
        except _Fault as fault:
            if fault.kind == "transient" and waited < policy.retries:
                pause = policy.delay(waited, fault.__cause__)
                waited += 1
                _notify(on_retry, f"{fault.error.message}，{pause:.1f} 秒后第 {waited} 次重试")
                time.sleep(pause)
            elif fault.kind == "malformed" and reasked < policy.reasks:
                reasked += 1
                _notify(on_retry, f"{fault.error.message}，重新请求")
            else:
                raise _final(fault, waited, reasked) from fault.__cause__
            stats.retries += 1


def _notify(callback: Notify | None, message: str) -> None:
    if callback is not None:
        callback(message)


def _final(fault: _Fault, waited: int, reasked: int) -> LLMError:
    """The error to show once retries are used up (says how often we tried)."""
    done = [f"已自动重试 {waited} 次" if waited else "", f"已重新请求 {reasked} 次" if reasked else ""]
    note = "，".join(d for d in done if d)
    message = f"{fault.error.message}（{note}）" if note else fault.error.message
    return LLMError(message, fault.error.hint)


def stream_text(
    model: BaseChatModel, messages: Messages, *, policy: RetryPolicy | None = None, **kwargs: Any
) -> Iterator[str]:
    """Yield the answer's text pieces as they arrive.

    Faults before the first piece follow the fault policy; once text has been yielded it cannot be
    taken back, so a later break raises LLMError at once.
    """
    policy = policy or RetryPolicy.from_env()
    convo = as_messages(messages)
    waited = reasked = 0
    while True:
        produced = False
        try:
            for chunk in _guarded_stream(model, convo, kwargs):
                produced = True
                yield chunk
            if produced:
                return
            raise _empty()
        except _Fault as fault:
            if produced or fault.kind == "fatal":
                raise _final(fault, waited, reasked) from fault.__cause__
            if fault.kind == "transient" and waited < policy.retries:
                time.sleep(policy.delay(waited, fault.__cause__))
                waited += 1
            elif fault.kind == "malformed" and reasked < policy.reasks:
                reasked += 1
            else:
                raise _final(fault, waited, reasked) from fault.__cause__


def _guarded_stream(model: BaseChatModel, convo: list[BaseMessage], kwargs: dict[str, Any]) -> Iterator[str]:
    received = False
    try:
        for chunk in model.stream(convo, **kwargs):
            if piece := str(chunk.text):
                received = True
                yield piece
    except ZhaojingError:
        raise
    except Exception as exc:
        fault = _fault(exc, received)
        if fault is None:
            raise
        raise fault from exc


def as_messages(messages: Messages) -> list[BaseMessage]:
    """A prompt string as one human message; message sequences as a list."""
    if isinstance(messages, str):
        return [HumanMessage(content=messages)]
    return list(messages)
