"""Model profiles: how much each drafting call asks of the model, chosen by setting, not by class.

``ZHAOJING_MODEL_PROFILE`` = ``small`` (the embedded 1.5B model: one small job per call, two worked
examples, short answers), ``large`` (a larger local GGUF or a remote model: three examples, the
fact retold in the writer's voice by the model, longer reasons) or ``auto`` (the default: small for
the built-in model, large for ``ZHAOJING_GGUF`` or ``ZHAOJING_LLM=openai``).
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.config import Settings, get_settings


@dataclass(frozen=True)
class ModelProfile:
    """Prompt size and step granularity for one kind of model."""

    name: str
    shots: int
    """Worked examples per call."""
    heading_tokens: int
    reason_tokens: int
    action_tokens: int
    retell: bool
    """The model retells each fact in the writer's voice (else code does the few safe changes)."""
    tie_break: bool
    """Ask the model when two aspects fit a fact about equally well."""
    reason_retries: int = 1
    """Second tries at a cause's reason (the embedded model's reasons passed 3 times in 136 in round 5, the
    retries hardly ever: one try, then the checked bank reason or the template)."""


SMALL = ModelProfile("small", shots=2, heading_tokens=32, reason_tokens=96, action_tokens=64, retell=False,
                     tie_break=False, reason_retries=0)
LARGE = ModelProfile("large", shots=3, heading_tokens=48, reason_tokens=160, action_tokens=96, retell=True,
                     tie_break=True)
PROFILES = {"small": SMALL, "large": LARGE}


def profile_for(settings: Settings | None = None, name: str | None = None) -> ModelProfile:
    """The profile named (or set in ``ZHAOJING_MODEL_PROFILE``); ``auto`` decides from the model settings."""
    settings = settings or get_settings()
    name = name or settings.model_profile
    if name in PROFILES:
        return PROFILES[name]
    if settings.llm == "embedded" and settings.gguf is None:
        return SMALL
    return LARGE if settings.llm in ("embedded", "openai") else SMALL
