"""Yearly frames (theme, aspects, required sections) as data in ``knowledge_base/frames/``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from rag.config import KB_DIR
from rag.errors import InputError

FRAMES_DIR = KB_DIR / "frames"


class Aspect(BaseModel):
    """One inspection aspect of a frame, with keywords that identify it in a heading."""

    name: str
    keywords: list[str] = Field(default_factory=list)

    def matches(self, text: str) -> bool:
        """True when a heading text names this aspect."""
        return any(k in text for k in self.keywords) or self.name in text


class Frame(BaseModel):
    """A frame: which meeting, for which years and material types, with which aspects."""

    id: str
    name: str
    meeting: str
    meeting_types: list[str]
    years: list[int]
    priority: int = 0
    theme: str = ""
    theme_keywords: list[str] = Field(default_factory=list)
    aspects: list[Aspect]
    required_sections: list[str] = Field(default_factory=list)

    def aspect_of(self, text: str) -> Aspect | None:
        """The aspect a heading text names, if any."""
        return next((a for a in self.aspects if a.matches(text)), None)


@lru_cache(maxsize=4)
def load_frames(folder: Path = FRAMES_DIR) -> tuple[Frame, ...]:
    """Load every frame file in ``folder`` (cached)."""
    frames = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            frames.append(Frame.model_validate(yaml.safe_load(path.read_text(encoding="utf-8"))))
        except Exception as exc:  # noqa: BLE001 - report any bad frame file in Chinese
            raise InputError(f"框架文件 {path.name} 格式有误：{exc}", "请对照 knowledge_base/frames/README.md 修改") from exc
    return tuple(frames)


def get_frame(frame_id: str) -> Frame:
    """A frame by id, or an InputError listing the known ids."""
    for f in load_frames():
        if f.id == frame_id:
            return f
    ids = "、".join(f.id for f in load_frames())
    raise InputError(f"找不到年度框架“{frame_id}”", f"可用的框架：{ids}")


def select_frame(year: int | None, meeting_type: str | None, meeting: str | None = None) -> Frame | None:
    """The default frame for a year and material type (highest priority wins), or None."""
    cands = [
        f for f in load_frames()
        if (year is None or year in f.years)
        and (meeting_type is None or meeting_type in f.meeting_types)
        and (meeting is None or f.meeting == meeting)
    ]
    if year is None:
        return None
    return max(cands, key=lambda f: f.priority, default=None)
