"""``ChatLlamaCpp``: the embedded, offline chat model (llama.cpp through llama-cpp-python).

The ``llama_cpp.Llama`` instance is loaded lazily on first use and cached process-wide (one per
path/context/thread setting); a per-instance lock serialises inference, because a llama.cpp
context is not thread-safe. The chat template comes from the GGUF metadata. With ``json_schema``
set (on the model or per call), decoding is grammar-constrained to that JSON schema.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, ChatMessage
from langchain_core.messages.ai import UsageMetadata
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from rag.errors import LLMError, ModelUnavailableError
from rag.llm.sampling import install as install_grammar_fast_path
from rag.llm.threads import ThreadAdvisor, usable_cores

DEFAULT_N_CTX = 4096
_ROLES = {"system": "system", "human": "user", "ai": "assistant", "tool": "tool"}


@dataclass
class LoadedModel:
    """A loaded ``llama_cpp.Llama`` plus the lock that serialises its use.

    ``adaptive``: the thread count was not fixed by the user, so each call picks it from what else
    is running (:class:`rag.llm.threads.ThreadAdvisor`).
    """

    llama: Any
    load_seconds: float
    lock: threading.Lock = field(default_factory=threading.Lock)
    adaptive: bool = False
    threads: int = 0
    advisor: ThreadAdvisor | None = None

    def before_call(self) -> None:
        """Set the thread count for the next call (only when adaptive; call under ``lock``)."""
        if not self.adaptive or self.advisor is None:
            return
        wanted = self.advisor.threads()
        if wanted != self.threads and hasattr(self.llama, "_ctx"):
            import llama_cpp

            llama_cpp.llama_set_n_threads(self.llama._ctx.ctx, wanted, wanted)
            self.threads = wanted


_CACHE: dict[tuple[str, int, int, bool, bool], LoadedModel] = {}
_CACHE_LOCK = threading.Lock()


@functools.cache
def has_amx() -> bool:
    """True when this llama.cpp build uses Intel AMX (its repacked Q4_K matmul can segfault)."""
    try:
        import llama_cpp
    except ImportError:
        return False  # reported properly when loading
    return b"AMX_INT8 = 1" in llama_cpp.llama_print_system_info()


def default_threads() -> int:
    """Threads a model is loaded with when ``ZHAOJING_LLM_THREADS`` is unset: every usable CPU, 1..8.

    Each call may then use fewer (see :mod:`rag.llm.threads`): llama.cpp's threads spin at barriers,
    and with every core given to it while anything else runs, decoding collapses (measured on 2 vCPUs:
    7–8 tok/s idle with 2 threads, 2.5–2.8 tok/s with one core busy, where 1 thread kept 4.5–5).
    """
    return max(1, min(usable_cores(), 8))


def load_llama(
    model_path: str, n_ctx: int = DEFAULT_N_CTX, n_threads: int | None = None, use_extra_bufts: bool | None = None
) -> LoadedModel:
    """Load (or fetch from the process-wide cache) a ``llama_cpp.Llama`` for ``model_path``.

    ``use_extra_bufts=None`` means auto: weight repacking stays on unless the CPU backend uses AMX,
    where llama.cpp's AMX matmul segfaults on Q4_K_M (ggml-org/llama.cpp#20824).
    """
    threads = n_threads or default_threads()
    extra = (not has_amx()) if use_extra_bufts is None else use_extra_bufts
    key = (str(model_path), n_ctx, threads, extra, n_threads is None)
    with _CACHE_LOCK:
        if key not in _CACHE:
            loaded = _load_uncached(str(model_path), n_ctx, threads, extra)
            loaded.threads = threads
            if n_threads is None:
                loaded.adaptive, loaded.advisor = True, ThreadAdvisor(cores=threads)
            _CACHE[key] = loaded
        return _CACHE[key]


def close_all() -> None:
    """Free every cached model (also run at exit, before interpreter teardown breaks llama.cpp's ``__del__``)."""
    with _CACHE_LOCK:
        while _CACHE:
            _, loaded = _CACHE.popitem()
            if loaded.lock.acquire(timeout=5):  # never free a model another thread is using
                try:
                    loaded.llama.close()
                finally:
                    loaded.lock.release()


atexit.register(close_all)


def _load_uncached(model_path: str, n_ctx: int, threads: int, extra_bufts: bool) -> LoadedModel:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelUnavailableError(
            "本地推理引擎 llama-cpp-python 未安装或无法加载", "请运行 `make install` 重新安装依赖"
        ) from exc
    started = time.perf_counter()
    try:
        with _model_params_patch(llama_cpp, extra_bufts):
            llama = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, n_threads=threads, verbose=False)
    except (ValueError, RuntimeError, OSError) as exc:
        raise ModelUnavailableError(
            f"无法加载本地模型 {model_path}：{exc}", "请确认文件是完整的 GGUF 模型，或运行 `make install` 重新安装"
        ) from exc
    install_grammar_fast_path(llama)  # grammar checked on the chosen token first (JSON slots ~1.6x faster)
    return LoadedModel(llama=llama, load_seconds=time.perf_counter() - started)


@contextlib.contextmanager
def _model_params_patch(llama_cpp: Any, extra_bufts: bool) -> Iterator[None]:
    """``Llama()`` exposes no ``use_extra_bufts`` argument; patch the default params while loading.

    Only called under ``_CACHE_LOCK``, so no other load in this process sees the patch.
    """
    module = llama_cpp.llama_cpp
    original = module.llama_model_default_params
    if extra_bufts:
        yield
        return

    def params() -> Any:
        value = original()
        value.use_extra_bufts = False
        return value

    module.llama_model_default_params = params
    try:
        yield
    finally:
        module.llama_model_default_params = original


def to_llama_messages(messages: list[BaseMessage]) -> list[dict[str, str]]:
    """Convert LangChain messages to llama.cpp / OpenAI chat dicts (text content only)."""
    out = []
    for message in messages:
        role = message.role if isinstance(message, ChatMessage) else _ROLES.get(message.type, "user")
        out.append({"role": role, "content": str(message.text)})
    return out


def _usage(prompt_tokens: int, completion_tokens: int) -> UsageMetadata:
    return UsageMetadata(
        input_tokens=prompt_tokens,
        output_tokens=completion_tokens,
        total_tokens=prompt_tokens + completion_tokens,
    )


class ChatLlamaCpp(BaseChatModel):
    """LangChain chat model over an in-process llama.cpp model (GGUF)."""

    model_path: str
    """Path of the GGUF file."""
    n_ctx: int = DEFAULT_N_CTX
    n_threads: int | None = None
    """Inference threads; ``None``: loaded with :func:`default_threads`, each call using fewer when other
    processes keep the CPU busy (:mod:`rag.llm.threads`)."""
    temperature: float = 0.2
    top_p: float = 0.95
    repeat_penalty: float = 1.05
    max_tokens: int | None = 1024
    seed: int | None = None
    json_schema: dict[str, Any] | None = None
    """When set, output is constrained to this JSON schema (also accepted per call)."""
    use_extra_bufts: bool | None = None
    """llama.cpp weight repacking; ``None`` = auto (off on AMX CPUs, see :func:`load_llama`)."""
    stop: list[str] | None = Field(default=None)

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-embedded"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "n_ctx": self.n_ctx, "temperature": self.temperature}

    def load(self) -> LoadedModel:
        """Load the model now (otherwise it is loaded on the first call); returns the cache entry."""
        return load_llama(self.model_path, self.n_ctx, self.n_threads, self.use_extra_bufts)

    def _request(self, messages: list[BaseMessage], stop: list[str] | None, **kwargs: Any) -> dict[str, Any]:
        """Arguments for ``Llama.create_chat_completion``; per-call kwargs override fields."""
        schema = kwargs.pop("json_schema", self.json_schema)
        request: dict[str, Any] = {
            "messages": to_llama_messages(messages),
            "temperature": kwargs.pop("temperature", self.temperature),
            "top_p": kwargs.pop("top_p", self.top_p),
            "repeat_penalty": kwargs.pop("repeat_penalty", self.repeat_penalty),
            "max_tokens": kwargs.pop("max_tokens", self.max_tokens),
            "stop": stop or self.stop or [],
            "seed": kwargs.pop("seed", self.seed),
        }
        if schema is not None:
            request["response_format"] = {"type": "json_object", "schema": schema}
        return request

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        loaded = self.load()
        request = self._request(messages, stop, **kwargs)
        started = time.perf_counter()
        with loaded.lock, _context_errors():
            loaded.before_call()
            response = loaded.llama.create_chat_completion(**request)
        choice = response["choices"][0]
        usage = response.get("usage") or {}
        prompt, completion = usage.get("prompt_tokens", 0), usage.get("completion_tokens", 0)
        info = {
            "finish_reason": choice.get("finish_reason"),
            "prompt_tokens": prompt,
            "completion_tokens": completion,
            "seconds": round(time.perf_counter() - started, 3),
        }
        message = AIMessage(
            content=choice["message"].get("content") or "",
            usage_metadata=_usage(prompt, completion),
            response_metadata={"model_name": os.path.basename(self.model_path), **info},
        )
        return ChatResult(generations=[ChatGeneration(message=message, generation_info=info)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        loaded = self.load()
        request = self._request(messages, stop, **kwargs)
        parts: list[str] = []
        finish_reason = None
        with loaded.lock, _context_errors():
            loaded.before_call()
            for event in loaded.llama.create_chat_completion(stream=True, **request):
                choice = event["choices"][0]
                finish_reason = choice.get("finish_reason") or finish_reason
                text = choice.get("delta", {}).get("content")
                if text:
                    parts.append(text)
                    chunk = ChatGenerationChunk(message=AIMessageChunk(content=text))
                    if run_manager:
                        run_manager.on_llm_new_token(text, chunk=chunk)
                    yield chunk
            yield _final_chunk(loaded.llama, "".join(parts), finish_reason)


def _final_chunk(llama: Any, text: str, finish_reason: str | None) -> ChatGenerationChunk:
    """Empty closing chunk carrying finish reason and (approximate) token usage of a stream.

    llama-cpp-python does not report usage when streaming: completion tokens are counted by
    re-tokenising the text, prompt tokens as the context length minus those.
    """
    completion = len(llama.tokenize(text.encode("utf-8"), add_bos=False, special=True)) if text else 0
    prompt = max(int(llama.n_tokens) - completion, 0)
    info = {"finish_reason": finish_reason, "prompt_tokens": prompt, "completion_tokens": completion}
    message = AIMessageChunk(content="", usage_metadata=_usage(prompt, completion), response_metadata=info)
    return ChatGenerationChunk(message=message, generation_info=info)


@contextlib.contextmanager
def _context_errors() -> Iterator[None]:
    """Turn llama.cpp's context-overflow ValueError into a Chinese LLMError."""
    try:
        yield
    except ValueError as exc:
        if "context window" in str(exc) or "exceed" in str(exc):
            raise LLMError(
                "输入内容太长，超出了本地模型的上下文窗口",
                "请缩短材料或分段处理；需要长文本时可换用更大的模型（ZHAOJING_GGUF 或 ZHAOJING_LLM=openai）",
            ) from exc
        raise
