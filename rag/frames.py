"""Meeting frames (theme, aspects, required sections) as data.

Built-in frames live in ``knowledge_base/frames/``; a user adds their own in ``<data_dir>/frames/`` (read
after the built-in ones) or inline in a facts file (``frame:`` as a mapping instead of an id).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import BaseModel, Field, ValidationError

from rag.config import KB_DIR
from rag.errors import InputError, StoreError

if TYPE_CHECKING:
    from rag.draft.facts import UnitFacts

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
        if "，" in self.name:  # a notice's clause (对照…，查找…) keeps its verb: only the closing 方面/差距 goes
            return re.sub(r"(?:方面的差距|方面的问题|方面|的差距)$", "", self.name) or self.name
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


# ------------------------------------------------------------------------------ user frames from a form

MEETING_TYPES: tuple[str, ...] = ("班子", "个人", "支部")
REQUIRED_SECTIONS: tuple[str, ...] = ("上年度整改", "反面典型案例剖析")
"""The extra parts a frame can require (the critic's SECTION_WORDS and the drafting assembler know these)."""
FRAME_ID_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
"""A frame id as a facts file may name it (same as ``rag.draft.facts._FRAME_PATTERN``)."""
FORM_SOURCE = "新建的框架"
_FIELD_SEP = re.compile(r"\s*[｜|]\s*")
_KEYWORD_SEP = re.compile(r"[，,、；;/／\s]+")
_LINE_NUMBER = re.compile(r"^\s*(?:[（(][一二三四五六七八九十\d]{1,3}[）)]|[一二三四五六七八九十\d]{1,3}[、.．)）]|[-*•·])\s*")
_YEAR_IN_NAME = re.compile(r"((?:19|20)\d{2})\s*年")
_FORMAT_HINT = "每行写一个方面，格式：方面名称｜关键词1、关键词2｜这个方面查什么（关键词和说明可不填）"


@dataclass(frozen=True)
class UserFrameFile:
    """One file in ``<data_dir>/frames/``: its frame, or why it cannot be used."""

    path: Path
    frame: Frame | None
    error: str = ""


def user_frame_id(name: str, year: int) -> str:
    """An ascii id for a frame: the year and the pinyin initials of the name (“2026-xxjyztzzshh”)."""
    rest = _YEAR_IN_NAME.sub("", name, count=1)
    try:
        from pypinyin import Style, lazy_pinyin

        letters = "".join(lazy_pinyin(rest, style=Style.FIRST_LETTER))
    except ImportError:  # pragma: no cover - pypinyin is a dependency
        letters = ""
    slug = re.sub(r"[^a-z0-9]+", "", letters.lower())[:40]
    return f"{year}-{slug or hashlib.sha1(name.encode()).hexdigest()[:8]}"


def frame_mapping_from_form(
    name: str,
    meeting_types: str | Sequence[str],
    year: int | str | None,
    aspects_text: str,
    required_sections: Sequence[str] = (),
    theme: str = "",
    frame_id: str = "",
) -> dict[str, Any]:
    """A frame mapping from the “新建框架” form, validated by :func:`frame_from_mapping`.

    ``name`` is the meeting as it is called (“2026年学习教育专题组织生活会”); ``aspects_text`` has one aspect a
    line, ``名称｜关键词、关键词｜说明`` (keywords and description optional). Errors are Chinese InputErrors.
    """
    name = _clean_name(name)
    year_no = _form_year(year, name)
    data: dict[str, Any] = {
        "id": _form_id(frame_id, name, year_no),
        "name": name,
        "meeting": _meeting_kind(name),
        "meeting_types": _form_types(meeting_types),
        "years": [year_no],
        "aspects": parse_aspect_lines(aspects_text),
    }
    if theme and theme.strip():
        data["theme"] = _clean(theme, "主题", 300)
    sections = _form_sections(required_sections)
    if sections:
        data["required_sections"] = sections
    frame_from_mapping(data, FORM_SOURCE)
    return data


def parse_aspect_lines(text: str) -> list[dict[str, Any]]:
    """Aspects from pasted lines ``名称｜关键词、关键词｜说明``; numbering such as （一） or 1. is dropped."""
    lines = [ln for ln in (text or "").splitlines() if ln.strip()]
    if not lines:
        raise InputError("还没有填写检视方面", "请在“检视方面”里" + _FORMAT_HINT)
    if len(lines) > 12:
        raise InputError(f"检视方面有 {len(lines)} 个，最多 12 个", "请合并相近的方面，每行只写一个")
    aspects = [_aspect_line(i, ln) for i, ln in enumerate(lines, start=1)]
    names = [a["name"] for a in aspects]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup:
        raise InputError(f"检视方面“{dup}”重复填写了", "请删去重复的一行")
    return aspects


def _aspect_line(no: int, line: str) -> dict[str, Any]:
    """One aspect line: name, then optional keywords and description after ｜ or |."""
    fields = _FIELD_SEP.split(_neutral(_LINE_NUMBER.sub("", line.strip())))
    if len(fields) > 3:
        raise InputError(f"第{no}个方面用“｜”分成了{len(fields)}段，最多3段", _FORMAT_HINT)
    name = fields[0].strip()
    if not 2 <= len(name) <= 80:
        raise InputError(f"第{no}个方面的名称应为 2–80 个字（现在是“{name}”）", _FORMAT_HINT)
    keywords = _keywords(no, fields[1]) if len(fields) > 1 and fields[1].strip() else _default_keywords(name)
    aspect: dict[str, Any] = {"name": name, "keywords": keywords}
    description = fields[2].strip() if len(fields) > 2 else ""
    if len(description) > 300:
        raise InputError(f"第{no}个方面的说明超过 300 字", "说明只需一句话，写清这个方面查什么")
    if description:
        aspect["description"] = description
    return aspect


def _keywords(no: int, text: str) -> list[str]:
    words = list(dict.fromkeys(w for w in _KEYWORD_SEP.split(text) if w))
    short = next((w for w in words if len(w) < 2), None)
    if short:
        raise InputError(f"第{no}个方面的关键词“{short}”太短，至少两个字", "关键词用来认出草稿里的方面标题，一个字会误认")
    long = next((w for w in words if len(w) > 30), None)
    if long:
        raise InputError(f"第{no}个方面的关键词“{long}”太长，最多 30 个字", "关键词之间用“、”或逗号隔开")
    return words


def _default_keywords(name: str) -> list[str]:
    """Keywords when none are given: the aspect's short form split at punctuation (“在…上带头” removed)."""
    label = Aspect(name=name).label
    words = [re.sub(r"^(?:在|对照|从)", "", w) for w in _KEYWORD_SEP.split(label)]
    return list(dict.fromkeys(w for w in words if 2 <= len(w) <= 20))


def _neutral(text: str) -> str:
    """Form text with invisible characters and chat control tokens defused (it reaches prompts)."""
    from rag.draft.injection import neutralize

    return neutralize(text)


def _clean(text: str, what: str, limit: int) -> str:
    value = " ".join(_neutral(text or "").split())
    if len(value) > limit:
        raise InputError(f"{what}超过 {limit} 字", f"请精简{what}")
    return value


def _clean_name(name: str) -> str:
    value = _clean(name, "会议名称", 80)
    if len(value) < 2:
        raise InputError("请填写会议名称", "例如：2026年学习教育专题组织生活会")
    return value


def _meeting_kind(name: str) -> str:
    """民主生活会 / 组织生活会, with 专题 in front when the name says 专题."""
    kind = next((k for k in ("民主生活会", "组织生活会") if k in name), None)
    if kind is None:
        raise InputError(f"会议名称“{name}”没有写明是民主生活会还是组织生活会",
                         "请写出会议的完整名称，例如：2026年学习教育专题组织生活会")
    return f"专题{kind}" if "专题" in name else kind


def _form_year(year: int | str | None, name: str) -> int:
    """The year as given, else the one in the name (“2026年…”); 2000–2100."""
    text = str(year).strip().removesuffix("年度").removesuffix("年") if year not in (None, "") else ""
    if not text:
        m = _YEAR_IN_NAME.search(name)
        if not m:
            raise InputError("请填写年度", "例如 2026（会议名称里写了“2026年”时可以不填）")
        text = m.group(1)
    if not text.isdigit() or not 2000 <= int(text) <= 2100:
        raise InputError(f"年度“{year}”不对", "请填写四位数的年份，例如 2026")
    return int(text)


def _form_types(value: str | Sequence[str]) -> list[str]:
    items = _KEYWORD_SEP.split(value) if isinstance(value, str) else list(value)
    items = [str(t).strip() for t in items if str(t).strip()]
    bad = [t for t in items if t not in MEETING_TYPES]
    if bad:
        raise InputError(f"材料类型“{'、'.join(bad)}”不认识", "材料类型只能是：班子、个人、支部")
    if not items:
        raise InputError("请至少选择一种材料类型", "班子、个人、支部中选一种或几种")
    return [t for t in MEETING_TYPES if t in items]


def _form_sections(value: Sequence[str]) -> list[str]:
    bad = [s for s in value if s not in REQUIRED_SECTIONS]
    if bad:
        raise InputError(f"必需部分“{'、'.join(bad)}”不认识", f"只能选择：{'、'.join(REQUIRED_SECTIONS)}")
    return [s for s in REQUIRED_SECTIONS if s in value]


def _form_id(frame_id: str, name: str, year: int) -> str:
    value = (frame_id or "").strip().lower()
    if not value:
        return user_frame_id(name, year)
    if not re.match(FRAME_ID_PATTERN, value):
        raise InputError(f"框架编号“{frame_id}”不合格式",
                         "编号只用小写字母、数字、“-”“_”，以字母或数字开头，最长 64 个字符，例如 2026-xuexi-zhuanti；也可以不填，自动生成")
    return value


def create_user_frame(
    name: str,
    meeting_types: str | Sequence[str],
    year: int | str | None,
    aspects_text: str,
    required_sections: Sequence[str] = (),
    theme: str = "",
    frame_id: str = "",
    *,
    replace: bool = False,
) -> Frame:
    """Build a frame from the form inputs and save it in ``<data_dir>/frames/`` (see :func:`save_user_frame`)."""
    data = frame_mapping_from_form(name, meeting_types, year, aspects_text, required_sections, theme, frame_id)
    return save_user_frame(data, replace=replace)


def save_user_frame(data: dict[str, Any], *, replace: bool = False) -> Frame:
    """Validate ``data`` and write it to ``<data_dir>/frames/<id>.yaml``; the saved frame as read back.

    A built-in id is never taken; another user frame with the same id is replaced only with ``replace``.
    """
    frame = frame_from_mapping(data, FORM_SOURCE)
    if not re.match(FRAME_ID_PATTERN, frame.id):
        raise InputError(f"框架编号“{frame.id}”不合格式", "编号只用小写字母、数字、“-”“_”，以字母或数字开头")
    _refuse_builtin_id(frame.id)
    folder = _user_frames_dir()
    if folder is None:
        raise StoreError("找不到数据目录，无法保存框架", "请检查 ZHAOJING_DATA_DIR 设置")
    old = [u for u in user_frames() if _same_id(u, frame.id)]
    if old and not replace:
        what = f"“{old[0].frame.name}”" if old[0].frame else f"文件 {old[0].path.name}"
        raise InputError(f"已经有编号为“{frame.id}”的自建框架{what}",
                         "如要替换它，请勾选“覆盖同编号的自建框架”；否则换一个框架编号或会议名称")
    path = folder / f"{frame.id}.yaml"
    _write_frame(path, frame)
    for u in old:
        if u.path != path:
            u.path.unlink(missing_ok=True)
    return _frame_file(path)


def _refuse_builtin_id(frame_id: str) -> None:
    builtin = next((f for f in builtin_frames() if f.id == frame_id), None)
    if builtin is not None:
        raise InputError(f"框架编号“{frame_id}”已被内置框架“{builtin.name}”使用，内置框架不能覆盖",
                         "请在“框架编号”里另填一个编号，例如 2026-xuexi-zhuanti；或换一个会议名称")


def _same_id(entry: UserFrameFile, frame_id: str) -> bool:
    return (entry.frame is not None and entry.frame.id == frame_id) or entry.path.stem == frame_id


def frame_document(frame: Frame) -> dict[str, Any]:
    """A frame as a plain mapping in the file format of ``knowledge_base/frames/`` (defaults left out)."""
    doc = frame.model_dump(include={"id", "name", "meeting", "meeting_types", "years", "priority", "theme",
                                    "theme_keywords", "required_sections", "category_aspects"},
                           exclude_defaults=True)
    doc.update(id=frame.id, name=frame.name, meeting=frame.meeting, meeting_types=frame.meeting_types)
    doc["aspects"] = [a.model_dump(exclude_defaults=True) for a in frame.aspects]
    order = ["id", "name", "meeting", "meeting_types", "years", "priority", "theme", "theme_keywords", "aspects",
             "required_sections", "category_aspects"]
    return {k: doc[k] for k in order if k in doc}


def frame_yaml(frame: Frame) -> str:
    """The YAML text of a frame file."""
    return yaml.safe_dump(frame_document(frame), allow_unicode=True, sort_keys=False, width=1000)


def _write_frame(path: Path, frame: Frame) -> None:
    """Write atomically (a temp file, then rename) so a half-written file is never read."""
    text = "# 在“会议框架”页面新建；可以直接编辑，格式见 knowledge_base/frames/README.md\n" + frame_yaml(frame)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        raise StoreError(f"框架文件 {path} 保存失败：{exc}", "请检查数据目录是否存在、是否可写") from exc


def user_frames() -> list[UserFrameFile]:
    """Every file in ``<data_dir>/frames/``, with its frame or the reason it is not used."""
    folder = _user_frames_dir()
    if folder is None or not folder.is_dir():
        return []
    builtin = {f.id: f.name for f in builtin_frames()}
    out: list[UserFrameFile] = []
    for path in sorted(folder.glob("*.yaml")):
        try:
            frame = _frame_file(path)
        except InputError as exc:
            out.append(UserFrameFile(path, None, str(exc)))
            continue
        clash = f"编号与内置框架“{builtin[frame.id]}”重复，不会生效" if frame.id in builtin else ""
        out.append(UserFrameFile(path, frame, clash))
    return out


def delete_user_frame(frame_id: str) -> Path:
    """Delete the user frame with this id (or file name); built-in frames cannot be deleted."""
    entry = next((u for u in user_frames() if _same_id(u, frame_id)), None)
    if entry is None:
        if any(f.id == frame_id for f in builtin_frames()):
            raise InputError(f"“{frame_id}”是内置框架，不能删除", "只能删除自己新建的框架（数据目录 frames/ 下的文件）")
        raise InputError(f"没有找到编号为“{frame_id}”的自建框架", "请刷新页面后再试，或用 zhaojing frames list 查看")
    try:
        entry.path.unlink()
    except OSError as exc:
        raise StoreError(f"框架文件 {entry.path} 删除失败：{exc}", "请检查数据目录是否可写") from exc
    return entry.path


def frame_notes(frame: Frame) -> list[str]:
    """Reminders about a frame that still works (aspects without description or keywords)."""
    notes = [f"方面“{a.name}”没有说明：起草时只能按名称判断事实归入哪个方面，建议补一句说明"
             for a in frame.aspects if not a.description]
    notes += [f"方面“{a.name}”没有关键词：批改时只能按完整名称认出草稿里的方面标题" for a in frame.aspects if not a.keywords]
    return notes


# ------------------------------------------------------------------------------ picking a frame (起草 and 批改 pages)

def selectable_frames() -> list[Frame]:
    """The frames a user can pick: the built-in ones, then the user's own that can be used.

    Unlike :func:`load_frames` a broken user file does not raise: it is left out (the 会议框架 page says why).
    """
    frames = list(builtin_frames())
    ids = {f.id for f in frames}
    for entry in user_frames():
        if entry.frame is not None and not entry.error and entry.frame.id not in ids:
            frames.append(entry.frame)
            ids.add(entry.frame.id)
    return frames


def facts_with_frame(facts: UnitFacts, frame: Frame | None) -> UnitFacts:
    """``facts`` (UnitFacts) with ``frame`` as their frame, overriding the one they name; as given when ``frame``
    is None. The whole frame is kept (not only its id), so a saved draft still knows it if the file goes away."""
    if frame is None:
        return facts
    return facts.model_copy(update={"frame": frame})
