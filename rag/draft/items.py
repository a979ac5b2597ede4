"""Typed pieces of a draft while it is being written: where each fact goes, each problem, cause and measure.

The pipeline works on these; :mod:`rag.draft.assemble` renders them into the genre's text
(:class:`~rag.draft.schemas.Draft`, which the UI, the store and the exports use).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

Source = Literal["model", "retry", "bank", "facts", "user", "gap", "code", "template", "stock", "none"]


class Placement(BaseModel):
    """Where one fact was placed and why."""

    fact_id: str
    aspect: str | None
    """The aspect under 问题 (None: the fact serves only the 上年度整改 or 案例 part)."""
    score: float = 0.0
    why: str = ""
    """category | hint | similar | moved | model (which signal decided)."""


class Plan(BaseModel):
    """The facts laid out over the frame before any writing."""

    by_aspect: dict[str, list[str]] = Field(default_factory=dict)
    """Aspect name → fact ids, in the frame's aspect order."""
    rectification: list[str] = Field(default_factory=list)
    case: list[str] = Field(default_factory=list)
    gaps: dict[str, list[str]] = Field(default_factory=dict)
    """Aspects no fact fits → the fact categories that would fill them."""
    placements: list[Placement] = Field(default_factory=list)


class Problem(BaseModel):
    """One 问题 item: “一是{heading}。{instance}”."""

    id: str
    aspect: str
    heading: str
    """The 定性: a short sentence in the writer's voice naming the shortcoming."""
    heading_from: Source = "model"
    instance: str
    """The 事例: the fact told in the writer's voice (others' complaints kept as evidence)."""
    fact_ids: list[str] = Field(default_factory=list)
    root: str = ""
    """The thought/Party-spirit root the cause analysis files it under."""


class Cause(BaseModel):
    """One 原因 item: a root, the problems it explains and the reason in the writer's words."""

    id: str
    root: str
    title: str
    problem_ids: list[str] = Field(default_factory=list)
    reason: str = ""
    """Empty while the user has to choose among ``candidates``."""
    reason_from: Source = "model"
    candidates: list[str] = Field(default_factory=list)
    """Reasons from the bank offered when the model gave none that fits."""


class Measure(BaseModel):
    """One 措施 item: action on the problem's object, checkable target, owner, deadline."""

    id: str
    problem_ids: list[str] = Field(default_factory=list)
    action: str
    action_from: Source = "model"
    target: str = ""
    target_from: Source = "code"
    owner: str = ""
    deadline: str = ""
    fact_id: str = ""
    """For last year's unfinished rectification: the 上年度整改 fact it takes up."""
