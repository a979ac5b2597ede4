"""Pydantic schemas of what the model fills (slots) and of the assembled draft.

The model only fills short slots; code renders the genre's numbering and prose around them.
"""

from __future__ import annotations

from pydantic import AliasChoices, BaseModel, ConfigDict, Field


def _key(chinese: str, english: str) -> AliasChoices:
    """Slots are filled under Chinese keys (the small model reads them as instructions: measured,
    English keys made it put the fact into ``summary`` and the source into ``instance``); the
    English field names are accepted too."""
    return AliasChoices(chinese, english)


def _fill_every_key(schema: dict) -> None:
    """JSON schema for constrained decoding: every key required, id lists non-empty.

    Python-side defaults stay, so lenient answers from other models still validate.
    """
    schema["required"] = list(schema.get("properties", {}))
    for key in ("依据", "对应问题"):
        if key in schema["properties"]:
            schema["properties"][key]["minItems"] = 1


SLOT_CONFIG = ConfigDict(json_schema_extra=_fill_every_key)


class ProblemSlot(BaseModel):
    """One problem: the facts it rests on, a short summary, the gap in thinking it shows.

    The concrete instance is not asked for: code renders the cited facts in the user's own words
    (the small model only copied them, slowly, and sometimes wrongly).
    """

    model_config = SLOT_CONFIG

    fact_ids: list[str] = Field(default_factory=list, max_length=4, validation_alias=_key("依据", "fact_ids"))
    summary: str = Field(default="", max_length=40, validation_alias=_key("问题", "summary"))
    reflection: str = Field(default="", max_length=100, validation_alias=_key("思想差距", "reflection"))
    # Written in the same call, with the facts in view (see pipeline.problem_schema): the thought
    # dimension and root cause of this problem, and a measure that answers it. Optional, so answers
    # without them still validate; the causes and measures steps then ask for them separately.
    root: str = Field(default="", max_length=12, validation_alias=_key("根源", "root"))
    cause: str = Field(default="", max_length=120, validation_alias=_key("原因", "cause"))
    action: str = Field(default="", max_length=160, validation_alias=_key("措施", "action"))
    result: str = Field(default="", max_length=120, validation_alias=_key("检验结果", "result"))


class ProblemSlots(BaseModel):
    items: list[ProblemSlot] = Field(max_length=3, validation_alias=_key("条目", "items"))


class CauseSlot(BaseModel):
    model_config = SLOT_CONFIG

    problem_ids: list[str] = Field(default_factory=list, max_length=6, validation_alias=_key("对应问题", "problem_ids"))
    dimension: str = Field(max_length=12, validation_alias=_key("方面", "dimension"))
    text: str = Field(max_length=240, validation_alias=_key("原因", "text"))


class CauseSlots(BaseModel):
    items: list[CauseSlot] = Field(min_length=1, max_length=4, validation_alias=_key("条目", "items"))


class MeasureSlot(BaseModel):
    model_config = SLOT_CONFIG

    problem_ids: list[str] = Field(default_factory=list, max_length=6, validation_alias=_key("对应问题", "problem_ids"))
    action: str = Field(max_length=160, validation_alias=_key("措施", "action"))
    result: str = Field(max_length=120, validation_alias=_key("检验结果", "result"))
    owner: str = Field(default="", max_length=40, validation_alias=_key("牵头", "owner"))


class MeasureSlots(BaseModel):
    items: list[MeasureSlot] = Field(min_length=1, max_length=10, validation_alias=_key("条目", "items"))


class ItemRewrite(BaseModel):
    text: str = Field(max_length=400, validation_alias=_key("内容", "text"))


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
    summary: str = ""
    """Problems: the one-line summary (what causes and measures refer to)."""
    aspect: str | None = None
    fact_ids: list[str] = Field(default_factory=list)
    problem_ids: list[str] = Field(default_factory=list)
    gap: bool = False
    to_confirm: list[str] = Field(default_factory=list)
    heading: str = ""
    """Problems: the 定性 the item opens with; causes: the root's title."""
    root: str = ""
    """Causes: the thought/Party-spirit root."""
    candidates: list[str] = Field(default_factory=list)
    """Causes left for the user: reasons from the bank to choose from (UI and CLI)."""


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
