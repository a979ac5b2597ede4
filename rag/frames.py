"""Meeting frames (theme, aspects, required sections) as data.

Built-in frames live in ``knowledge_base/frames/``; a user adds their own in ``<data_dir>/frames/`` (read
after the built-in ones) or inline in a facts file (``frame:`` as a mapping instead of an id).
"""

from __future__ import annotations

import hashlib
import json
import re
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from rag.config import KB_DIR
from rag.errors import InputError

FRAMES_DIR = KB_DIR / "frames"
_AROUND = re.compile(r"^(?:在|对照|从)|(?:上带头|方面|方面的差距|的差距|方面的问题)$")


class Aspect(BaseModel):
    """One inspection aspect of a frame, with keywords that identify it in a heading."""

    name: str = Field(min_length=2, max_length=80)
    keywords: list[str] = Field(default_factory=list)
    description: str = Field("", max_length=300)
    """What the aspect covers, in a sentence (used to place facts under it)."""
    short: str = Field("", max_length=40)
    """The aspect named inside a sentence (the opening): “在强化政治忠诚、提高政治能力上带头” → “强化政治忠诚、提高政治能力”."""

    def matches(self, text: str) -> bool:
        """True when a heading text names this aspect."""
        return any(k in text for k in self.keywords) or self.name in text

    @property
    def label(self) -> str:
        """The short form for use inside a sentence (data, else the name without 在…上带头 / 对照 / 方面)."""
        if self.short:
            return self.short
        label = self.name
        for _ in range(2):
            label = _AROUND.sub("", label)
        return label or self.name

    @property
    def heading(self) -> str:
        """The aspect's heading under 问题 (see :func:`aspect_heading`)."""
        return aspect_heading(self.name)


def aspect_heading(name: str) -> str:
    """An aspect's heading under 问题: the name, with 方面 added unless it already says 方面/差距/问题."""
    if re.search(r"方面|差距|问题|不足$", name):
        return name
    return f"{name}方面"


class Frame(BaseModel):
    """A frame: which meeting, for which years and material types, with which aspects."""

    id: str = ""
    name: str = Field(min_length=2, max_length=80)
    meeting: str = Field(min_length=2, max_length=40)
    meeting_types: list[str] = Field(default_factory=lambda: ["班子", "个人", "支部"])
    years: list[int] = Field(default_factory=list)
    priority: int = 0
    theme: str = ""
    theme_keywords: list[str] = Field(default_factory=list)
    aspects: list[Aspect] = Field(min_length=1, max_length=12)
    required_sections: list[str] = Field(default_factory=list)
    category_aspects: dict[str, list[str]] = Field(default_factory=dict)
    """Fact category → the aspects it usually belongs to (names or keywords), in order of preference."""
    special: bool = False
    """A 专题 meeting (its name is kept as is in the title and opening)."""

    def aspect_of(self, text: str) -> Aspect | None:
        """The aspect a heading text names, if any."""
        return next((a for a in self.aspects if a.matches(text)), None)

    def aspects_for(self, category: str) -> list[Aspect]:
        """The aspects the frame's category map gives for a fact category (may be empty)."""
        out: list[Aspect] = []
        for ref in self.category_aspects.get(category, []):
            asp = next((a for a in self.aspects if a.name == ref), None) or self.aspect_of(ref)
            if asp is not None and asp not in out:
                out.append(asp)
        return out

    def categories_for(self, aspect: Aspect) -> list[str]:
        """The fact categories that the category map sends to ``aspect``."""
        return [c for c in self.category_aspects if aspect in self.aspects_for(c)]


def frame_from_mapping(data: Any, source: str = "框架") -> Frame:
    """Validate a frame given as a mapping (inline in a facts file, a user file, the UI form).

    An inline frame without an id gets a stable one from its content. Errors are Chinese InputErrors.
    """
    if not isinstance(data, dict):
        raise InputError(f"{source}应当是一个映射（name、meeting、aspects 等字段）", "请对照 knowledge_base/frames/README.md 填写")
    try:
        frame = Frame.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise InputError(f"{source}格式有误：{where} {first.get('msg', '')}",
                         "请对照 knowledge_base/frames/README.md 修改（必填：name、meeting、aspects）") from exc
    if not frame.id:
        digest = hashlib.sha1(json.dumps(data, ensure_ascii=False, sort_keys=True).encode()).hexdigest()[:10]
        frame = frame.model_copy(update={"id": f"inline-{digest}"})
    if "专题" in frame.meeting or "专题" in frame.name:
        frame = frame.model_copy(update={"special": True})
    return frame


def _user_frames_dir() -> Path | None:
    try:
        from rag.config import get_settings

        return get_settings().data_dir / "frames"
    except Exception:  # noqa: BLE001 - settings unavailable: built-in frames only
        return None


def load_frames(folder: Path = FRAMES_DIR) -> tuple[Frame, ...]:
    """Every frame: the built-in ones in ``folder``, then the user's in ``<data_dir>/frames``."""
    user = _user_frames_dir() if folder == FRAMES_DIR else None
    return _load_frames(folder, user, _mtimes(user))


def builtin_frames() -> tuple[Frame, ...]:
    """Only the frames shipped in ``knowledge_base/frames/``."""
    return _load_frames(FRAMES_DIR, None, ())


def _mtimes(folder: Path | None) -> tuple:
    if folder is None or not folder.is_dir():
        return ()
    return tuple((p.name, p.stat().st_mtime_ns) for p in sorted(folder.glob("*.yaml")))


@lru_cache(maxsize=8)
def _load_frames(folder: Path, user: Path | None, _stamp: tuple) -> tuple[Frame, ...]:
    frames = [_frame_file(p) for p in sorted(folder.glob("*.yaml"))]
    ids = {f.id for f in frames}
    for path in sorted(user.glob("*.yaml")) if user is not None and user.is_dir() else []:
        frame = _frame_file(path)
        if frame.id not in ids:
            frames.append(frame)
            ids.add(frame.id)
    return tuple(frames)


def _frame_file(path: Path) -> Frame:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"框架文件 {path.name} 无法读取：{exc}", "请检查文件编码（UTF-8）和 YAML 格式") from exc
    frame = frame_from_mapping(data, f"框架文件 {path.name}")
    if frame.id.startswith("inline-"):
        frame = frame.model_copy(update={"id": path.stem})
    return frame


def get_frame(frame_id: str) -> Frame:
    """A frame by id, or an InputError listing the known ids."""
    for f in load_frames():
        if f.id == frame_id:
            return f
    ids = "、".join(f.id for f in load_frames())
    raise InputError(f"找不到年度框架“{frame_id}”", f"可用的框架：{ids}")


def select_frame(year: int | None, meeting_type: str | None, meeting: str | None = None) -> Frame | None:
    """The default frame for a year and material type (highest priority wins), or None."""
    if year is None:
        return None
    cands = [
        f for f in load_frames()
        if year in f.years and not f.special
        and (meeting_type is None or meeting_type in f.meeting_types)
        and (meeting is None or f.meeting == meeting)
    ]
    return max(cands, key=lambda f: f.priority, default=None)
