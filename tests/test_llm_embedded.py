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
