"""State of one drafting run, shared by the steps (plan, problems, causes, measures, assemble, revise)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag.draft.facts import Fact, UnitFacts
from rag.draft.injection import instruction_targets
from rag.draft.profile import SMALL, ModelProfile
from rag.draft.schemas import Citation, GuardEvent
from rag.draft.slots import SlotLog
from rag.frames import Frame
from rag.llm import CallStats

Event = Callable[[str, Any], None]


@dataclass
class Run:
    """Inputs, the text the guard accepts as known, counters and the event sink of one run."""

    facts: UnitFacts
    frame: Frame
    model: BaseChatModel
    kb: Any = None
    embedder: Any = None
    profile: ModelProfile = SMALL
    on_event: Event | None = None
    known: str = ""
    stats: CallStats = field(default_factory=CallStats)
    started: float = field(default_factory=time.perf_counter)
    citations: list[Citation] = field(default_factory=list)
    guard_events: list[GuardEvent] = field(default_factory=list)
    slots: SlotLog = field(default_factory=SlotLog)
    instruction: str | None = None
    """The user's wish for a rewrite (“写得更具体”), added to every call's instructions."""
    first_text_at: float | None = None
    """When the first draft text was shown (the parts rendered from the facts come before any model call)."""
    _targets: list[str] | None = None
    _known: tuple[str, Any] | None = None
    _vectors: dict[str, Any] = field(default_factory=dict)

    @property
    def small(self) -> bool:
        """The small-model profile (one small job per call, two examples)."""
        return self.profile.name == "small"

    @property
    def voice(self) -> str:
        """班子 / 个人 / 支部."""
        return self.facts.meeting_type

    @property
    def who(self) -> str:
        """How the material names its speaker: 我 / 班子 / 支部."""
        return {"个人": "我", "支部": "支部"}.get(self.voice, "班子")

    @property
    def calls(self) -> int:
        """Requests sent to the model (retries and re-asks included)."""
        return self.stats.requests

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens reported by the model."""
        return self.stats.tokens

    @property
    def first_token(self) -> float | None:
        """Seconds from the start of the run to the first streamed text piece."""
        at = self.stats.first_token_at
        return None if at is None else at - self.started

    def emit(self, kind: str, payload: Any) -> None:
        """Send an event (status / token / draft / part / done) to the listener, if any."""
        if self.on_event:
            self.on_event(kind, payload)

    def token_sink(self) -> Callable[[str], None] | None:
        """Where streamed pieces go (None without a listener: no streaming)."""
        return (lambda piece: self.emit("token", piece)) if self.on_event else None

    def injection_targets(self) -> list[str]:
        """Phrases that instructions hidden in the facts or sources ask for (computed once)."""
        if self._targets is None:
            self._targets = instruction_targets(self.known)
        return self._targets

    def known_claims(self) -> Any:
        """The grounding checker's view of ``known`` (rebuilt when ``known`` grows)."""
        from rag.critic import grounding

        if self._known is None or self._known[0] != self.known:
            self._known = (self.known, grounding.Known.of(self.known))
        return self._known[1]

    def vector(self, text: str) -> Any:
        """The embedder's query vector for ``text``, computed once per run (the 定性, the root vote and the
        measure's examples ask for the same texts); None without an embedder."""
        if self.embedder is None:
            return None
        if text not in self._vectors:
            self._vectors[text] = self.embedder.embed_query(text)
        return self._vectors[text]

    def fact(self, fact_id: str) -> Fact | None:
        return self.facts.fact(fact_id)
