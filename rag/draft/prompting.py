"""Prompts as files: render ``prompts/<name>.j2`` in a sandboxed Jinja environment."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from jinja2 import FileSystemLoader, StrictUndefined
from jinja2.sandbox import SandboxedEnvironment
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from rag.config import PROMPTS_DIR


@lru_cache(maxsize=2)
def environment(folder: Path = PROMPTS_DIR) -> SandboxedEnvironment:
    """The sandboxed environment (user data in variables cannot run code); undefined variables fail."""
    return SandboxedEnvironment(
        loader=FileSystemLoader(str(folder)), undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        autoescape=False,
    )


def render(name: str, **variables) -> str:
    """Render one prompt file with its variables."""
    return environment().get_template(f"{name}.j2").render(**variables).strip()


def messages(name: str, *, meeting_type: str, **variables) -> list[BaseMessage]:
    """System prompt plus the step's prompt, as chat messages."""
    return [
        SystemMessage(content=render("system", meeting_type=meeting_type)),
        HumanMessage(content=render(name, meeting_type=meeting_type, **variables)),
    ]


def prompt_names(folder: Path = PROMPTS_DIR) -> list[str]:
    """Every prompt file's name (without .j2)."""
    return sorted(p.stem for p in folder.glob("*.j2"))
