"""Pydantic schemas of what the model fills (slots) and of the assembled draft.

The model only fills short slots; code renders the genre's numbering and prose around them.
"""

from __future__ import annotations

from pydantic import BaseModel, Field


class ProblemSlot(BaseModel):
    fact_ids: list[str] = Field(default_factory=list, max_length=4)
    summary: str = Field(max_length=60)
    instance: str = Field(max_length=300)
    reflection: str = Field(default="", max_length=120)


class ProblemSlots(BaseModel):
    items: list[ProblemSlot] = Field(max_length=3)


class CauseSlot(BaseModel):
    problem_ids: list[str] = Field(default_factory=list, max_length=6)
    dimension: str = Field(max_length=12)
    text: str = Field(max_length=240)


class CauseSlots(BaseModel):
    items: list[CauseSlot] = Field(min_length=1, max_length=4)


class MeasureSlot(BaseModel):
    problem_ids: list[str] = Field(default_factory=list, max_length=6)
    action: str = Field(max_length=160)
    result: str = Field(max_length=120)
    owner: str = Field(default="", max_length=40)


class MeasureSlots(BaseModel):
    items: list[MeasureSlot] = Field(min_length=1, max_length=10)


class ItemRewrite(BaseModel):
    text: str = Field(max_length=400)


class Citation(BaseModel):
    """A retrieved passage the draft relied on."""

    source: str
    title: str = ""
    location: str = ""
    text: str = ""


class DraftItem(BaseModel):
    """One item of a part: its text, the facts it rests on, whether it is a gap, what to confirm."""

    id: str
    text: str
    aspect: str | None = None
    fact_ids: list[str] = Field(default_factory=list)
    problem_ids: list[str] = Field(default_factory=list)
    gap: bool = False
    to_confirm: list[str] = Field(default_factory=list)


class DraftPart(BaseModel):
    kind: str  # opening | rectification | problems | case | causes | measures
    title: str
    items: list[DraftItem] = Field(default_factory=list)


class GuardEvent(BaseModel):
    """A token the guard removed because neither the facts nor the sources support it."""

    item_id: str
    token: str
    action: str = "replaced_with_gap"


class Draft(BaseModel):
    """The structured draft; ``markdown`` renders it in the standard numbering."""

    unit: str
    meeting_type: str
    year: int
    frame_id: str
    frame_name: str
    title: str
    parts: list[DraftPart] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    guard_events: list[GuardEvent] = Field(default_factory=list)
    stats: dict = Field(default_factory=dict)

    @property
    def gaps(self) -> list[DraftItem]:
        return [it for p in self.parts for it in p.items if it.gap]

    def part(self, kind: str) -> DraftPart | None:
        return next((p for p in self.parts if p.kind == kind), None)

    def item(self, item_id: str) -> DraftItem | None:
        return next((it for p in self.parts for it in p.items if it.id == item_id), None)
