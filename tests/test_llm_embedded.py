"""Integration: the real embedded GGUF through ChatLlamaCpp (slow: ~1 GB model on CPU)."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from langchain_core.messages import HumanMessage, SystemMessage
from pydantic import BaseModel, Field

import rag.config
from rag.config import Settings
from rag.llm import ChatLlamaCpp, ensure_gguf, get_chat_model, stream_text, structured_call

pytestmark = pytest.mark.slow

CJK = re.compile(r"[\u4e00-\u9fff]")


class CityFact(BaseModel):
    city: str = Field(description="城市名称（中文）")
    is_capital: bool = Field(description="是否为首都")


@pytest.fixture(scope="module")
def gguf_path() -> Iterator[Path]:
    """The built-in model, assembled once into the project's persistent models dir."""
    models = os.environ.get("ZHAOJING_MODELS_DIR") or str(Path(rag.config.PROJECT_ROOT) / "data" / "models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHAOJING_MODELS_DIR", models)
        yield ensure_gguf(Settings(llm="embedded"))


@pytest.fixture(scope="module")
def model(gguf_path: Path) -> ChatLlamaCpp:
    chat = get_chat_model(Settings(llm="embedded", gguf=gguf_path), temperature=0.0, max_tokens=64, seed=7)
    assert isinstance(chat, ChatLlamaCpp)
    chat.load()
    return chat


def test_assembled_file_is_the_builtin_model(gguf_path):
    assert gguf_path.name == "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    assert gguf_path.stat().st_size == 1_117_320_768
    assert gguf_path.with_name(gguf_path.name + ".verified.json").exists()


def test_chinese_answer(model):
    message = model.invoke(
        [SystemMessage(content="你是一个简洁的中文助手。"), HumanMessage(content="中国的首都是哪座城市？请用一句中文回答。")]
    )
    assert CJK.search(message.content), message.content
    assert "北京" in message.content
    usage = message.usage_metadata
    assert usage["input_tokens"] > 0 and 0 < usage["output_tokens"] <= 64


def test_streaming_tokens(model):
    pieces = list(stream_text(model, "用一句中文介绍长城。", max_tokens=32))
    assert len(pieces) > 3
    assert CJK.search("".join(pieces))


def test_model_is_cached_process_wide(model, gguf_path):
    again = ChatLlamaCpp(model_path=str(gguf_path), temperature=0.5)
    assert again.load() is model.load()


def test_structured_call_constrained(model):
    result = structured_call(model, "北京是中国的首都吗？请给出城市名和判断。", CityFact)
    assert isinstance(result, CityFact)
    assert CJK.search(result.city) and result.is_capital is True


def test_grammar_fast_path_picks_the_same_tokens_as_llama_cpp_python(gguf_path):
    """Greedy JSON under a grammar: checking the chosen token first gives the very output of the
    whole-vocabulary order llama-cpp-python uses, on two fresh contexts (same prompt, same state)."""
    import llama_cpp

    from rag.llm import sampling
    from rag.llm.embedded import _model_params_patch, has_amx

    schema = {"type": "object", "properties": {"城市": {"type": "string"}, "人口万": {"type": "integer"}},
              "required": ["城市", "人口万"]}
    messages = [{"role": "user", "content": "用 JSON 写出中国首都和它的大致人口（万人）。"}]
    outputs = []
    for fast in (False, True):
        with _model_params_patch(llama_cpp, not has_amx()):
            llama = llama_cpp.Llama(model_path=str(gguf_path), n_ctx=512, n_threads=1, verbose=False)
        try:
            if fast:
                sampling.install(llama)
            out = llama.create_chat_completion(messages=messages, max_tokens=40, temperature=0.0,
                                               response_format={"type": "json_object", "schema": schema})
            outputs.append(out["choices"][0]["message"]["content"])
            if fast:
                assert isinstance(llama._sampler, sampling.GrammarFirstSampler)
                assert llama._sampler.tokens > 0
        finally:
            llama.close()
    assert outputs[0] == outputs[1], outputs
    assert '"城市"' in outputs[1] and "北京" in outputs[1]
