"""Unit facts: the only material the drafter may draw on.

The user supplies a YAML or JSON file describing the unit, the meeting and a list of concrete facts
(征求意见 items, 巡察/审计 findings, numbers, dates, named projects). The drafter writes only from these
facts and marks every aspect it cannot ground with a gap marker; nothing is invented.

Every error raised from here is an :class:`~rag.errors.InputError` whose message names the bad field in
Chinese (e.g. ``facts[2].text`` → 第3条事实的内容) and whose hint says what to do next.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_core import PydanticCustomError

from rag.draft.injection import neutralize
from rag.errors import InputError
from rag.frames import Frame, frame_from_mapping
from rag.redact import register_names

__all__ = [
    "CATEGORIES",
    "FACTS_SCHEMA_DOC",
    "MAX_FACTS_BYTES",
    "MEETING_TYPES",
    "Fact",
    "Preparation",
    "UnitFacts",
    "Writer",
    "facts_from_dict",
    "load_facts",
]

MAX_FACTS_BYTES = 1024 * 1024
MAX_FACTS = 200
MAX_FACT_CHARS = 2000

Category = Literal[
    "学习", "政治", "党性", "作风", "纪律", "廉洁", "担当", "管党治党",
    "巡察反馈", "审计反馈", "征求意见", "谈心谈话", "上年度整改", "典型案例", "其他",
]  # fmt: skip
MeetingType = Literal["班子", "个人", "支部"]
CATEGORIES: tuple[str, ...] = Category.__args__
MEETING_TYPES: tuple[str, ...] = MeetingType.__args__

_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,31}$"
_FRAME_PATTERN = r"^[a-z0-9][a-z0-9_\-]{0,63}$"
_YEAR_RE = re.compile(r"^\s*(\d{4})\s*(?:年度?)?\s*$")
_CN_DATE_RE = re.compile(r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?\s*$")


def _neutralize_tree(value: Any) -> Any:
    """``neutralize`` every string inside nested mappings and lists (an inline frame)."""
    if isinstance(value, str):
        return neutralize(value)
    if isinstance(value, Mapping):
        return {k: _neutralize_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_neutralize_tree(v) for v in value]
    return value


class _Model(BaseModel):
    """Common config: unknown keys are errors (usually typos); strings are stripped; bare numbers in
    text fields (``id: 3``, ``source: 2025``) are taken as text."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, coerce_numbers_to_str=True)

    @field_validator("*", mode="before")
    @classmethod
    def _neutralize(cls, value: Any) -> Any:
        """Strip invisible characters and defuse chat control tokens in user text (prompt-injection defence)."""
        if isinstance(value, str):
            return neutralize(value)
        if isinstance(value, list):
            return [neutralize(v) if isinstance(v, str) else v for v in value]
        return value


class Fact(_Model):
    """One concrete fact supplied by the user; the drafter cites it by ``id``."""

    id: str = Field(pattern=_ID_PATTERN)
    category: Category
    text: str = Field(min_length=1, max_length=MAX_FACT_CHARS)
    source: str = Field("", max_length=200)
    aspect: str | None = Field(None, max_length=100)
    people: list[str] = Field(default_factory=list, max_length=50)

    @field_validator("aspect", mode="before")
    @classmethod
    def _blank_aspect(cls, value: Any) -> Any:
        """Treat an empty aspect hint as no hint."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("people")
    @classmethod
    def _clean_people(cls, value: list[str]) -> list[str]:
        """Drop blank names and duplicates, keeping order."""
        return list(dict.fromkeys(name.strip() for name in value if name.strip()))


class Preparation(_Model):
    """How the unit prepared for the meeting (used in the opening paragraph)."""

    study_sessions: int | None = Field(None, ge=0, le=10000)
    talks: int | None = Field(None, ge=0, le=100000)
    opinions: int | None = Field(None, ge=0, le=100000)


class Writer(_Model):
    """The person a 个人 draft speaks for; ``role`` gives the duties to put into the draft."""

    name: str | None = Field(None, max_length=30)
    role: str = Field(min_length=1, max_length=200)


class UnitFacts(_Model):
    """Everything the drafter may use for one draft."""

    unit: str = Field(min_length=1, max_length=100)
    meeting_type: MeetingType
    year: int = Field(ge=2015, le=2035)
    frame: Annotated[str, Field(pattern=_FRAME_PATTERN)] | Frame | None = None
    """A frame id, or a whole frame written inline (a 专题 meeting's own aspects)."""
    meeting_date: date | None = None
    writer: Writer | None = None
    preparation: Preparation = Field(default_factory=Preparation)
    facts: list[Fact] = Field(min_length=1, max_length=MAX_FACTS)
    notes: str = Field("", max_length=5000)

    @field_validator("frame", mode="before")
    @classmethod
    def _inline_frame(cls, value: Any) -> Any:
        """A mapping is a frame written inline: validate it into a :class:`Frame` (errors in Chinese)."""
        if not isinstance(value, Mapping):
            return value
        try:
            return frame_from_mapping(_neutralize_tree(dict(value)), "事实文件中的检视框架（frame）")
        except InputError as exc:
            raise PydanticCustomError("zj_frame", "{msg}", {"msg": exc.message}) from exc

    @property
    def frame_id(self) -> str | None:
        """The frame's id (inline frames get one from their content)."""
        return self.frame.id if isinstance(self.frame, Frame) else self.frame

    @field_validator("year", mode="before")
    @classmethod
    def _year_from_text(cls, value: Any) -> Any:
        """Accept ``2025年度`` / ``2025年`` as 2025."""
        match = _YEAR_RE.match(value) if isinstance(value, str) else None
        return int(match.group(1)) if match else value

    @field_validator("meeting_date", mode="before")
    @classmethod
    def _date_from_chinese(cls, value: Any) -> Any:
        """Accept ``2026年1月20日`` besides ISO ``2026-01-20``."""
        match = _CN_DATE_RE.match(value) if isinstance(value, str) else None
        if not match:
            return value
        try:
            return date(*(int(part) for part in match.groups()))
        except ValueError:
            return value

    @field_validator("writer", mode="before")
    @classmethod
    def _writer_from_text(cls, value: Any) -> Any:
        """Accept ``writer: 副局长`` as ``writer: {role: 副局长}``."""
        return {"role": value} if isinstance(value, str) else value

    @field_validator("facts")
    @classmethod
    def _unique_ids(cls, facts: list[Fact]) -> list[Fact]:
        """Fact ids must be unique: the drafter and the eval refer to facts by id."""
        ids = [f.id for f in facts]
        dupes = [fid for fid in dict.fromkeys(ids) if ids.count(fid) > 1]
        if dupes:
            raise PydanticCustomError(
                "zj_duplicate_id", "事实编号（id）重复：{ids}", {"ids": "、".join(dupes)}
            )
        return facts

    @model_validator(mode="after")
    def _writer_for_personal(self) -> UnitFacts:
        """A 个人 draft must say whose duties it covers."""
        if self.meeting_type == "个人" and self.writer is None:
            raise PydanticCustomError(
                "zj_writer_required", "材料类型为“个人”时必须填写撰写人（writer）及其职务"
            )
        return self

    @model_validator(mode="after")
    def _register_for_redaction(self) -> UnitFacts:
        """Remember the writer's and the facts' people names so remote model calls redact them."""
        register_names(self.people_names())
        return self

    def fact(self, fact_id: str) -> Fact | None:
        """The fact with this id, or ``None`` (model output may cite ids that do not exist)."""
        return next((f for f in self.facts if f.id == fact_id), None)

    def people_names(self) -> list[str]:
        """Names to redact: the writer's name and every ``Fact.people`` entry, deduplicated."""
        names = [self.writer.name] if self.writer and self.writer.name else []
        names += [name for f in self.facts for name in f.people]
        return list(dict.fromkeys(names))

    def known_text(self) -> str:
        """All user-supplied wording a generated draft may legitimately repeat (for grounding checks).

        Covers the unit, the writer's role, each fact's text and source, plus the year, the meeting
        date and the preparation figures (which the opening paragraph cites).
        """
        lines = [self.unit]
        if self.writer:
            lines += [self.writer.role, self.writer.name or ""]
        lines += [part for f in self.facts for part in (f.text, f.source) if part]
        lines.append(self._meta_line())
        return "\n".join(lines)

    def _meta_line(self) -> str:
        """Year, meeting date and preparation figures written the way a draft would cite them."""
        parts = [f"{self.year}年度", f"{self.year}年"]  # the frame's name cites the year as 2023年
        if self.meeting_date:
            d = self.meeting_date
            parts += [d.isoformat(), f"{d.year}年{d.month}月{d.day}日"]
        prep = self.preparation
        for label, value, unit in (
            ("学习研讨", prep.study_sessions, "次"),
            ("谈心谈话", prep.talks, "人次"),
            ("征求意见", prep.opinions, "条"),
        ):
            if value is not None:
                parts.append(f"{label}{value}{unit}")
        return " ".join(parts)


# --------------------------------------------------------------------------------------------------
# Loading


def load_facts(path_or_text: str | Path | bytes, *, fmt: str | None = None) -> UnitFacts:
    """Load and validate a facts file.

    ``path_or_text`` is a path (``Path``, or a one-line string naming an existing or ``.yaml``/``.yml``/
    ``.json`` file), the file's text, or its raw bytes (e.g. an upload). ``fmt`` forces ``"yaml"`` or
    ``"json"``; otherwise the suffix or the content decides. Files over 1 MB are refused; bytes are
    decoded as UTF-8 (with or without BOM), UTF-16 with BOM, or GBK/GB18030.

    Raises:
        InputError: unreadable, oversized or malformed input, or facts that fail validation.
    """
    text, suffix = _read_source(path_or_text)
    data = _parse(text, _pick_format(fmt, suffix, text))
    return facts_from_dict(data)


def facts_from_dict(d: Mapping[str, Any]) -> UnitFacts:
    """Validate already-parsed facts (e.g. from the UI form); errors become Chinese ``InputError``."""
    if not isinstance(d, Mapping):
        raise _top_level_error(d)
    try:
        return UnitFacts.model_validate(dict(d))
    except ValidationError as exc:
        raise _validation_error(exc, d) from exc


def _read_source(source: str | Path | bytes) -> tuple[str, str | None]:
    """Return the text and the file suffix (``None`` when the input was text or bytes)."""
    if isinstance(source, Path):
        return _read_file(source)
    if isinstance(source, bytes | bytearray):
        _check_size(len(source))
        return _decode(bytes(source)), None
    if _looks_like_path(source):
        return _read_file(Path(source.strip()))
    _check_size(len(source.encode("utf-8", errors="replace")))
    return source.lstrip("\ufeff"), None


def _looks_like_path(text: str) -> bool:
    """A short single-line string that names a facts file (or any existing file)."""
    if not text.strip() or "\n" in text or len(text) > 1024:
        return False
    path = Path(text.strip())
    if path.suffix.lower() in {".yaml", ".yml", ".json"}:
        return True
    try:
        return path.is_file() or path.is_dir()  # a folder gets “是文件夹” instead of a parse error
    except OSError:
        return False


def _read_file(path: Path) -> tuple[str, str]:
    """Read a facts file with the size limit and encoding detection."""
    try:
        size = path.stat().st_size
        if path.is_dir():
            raise InputError(f"“{path}”是文件夹，不是事实材料文件", "请选择一个 .yaml 或 .json 文件")
        _check_size(size)
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(f"找不到事实材料文件：{path}", "请检查文件路径和文件名是否正确") from None
    except OSError as exc:
        raise InputError(f"无法读取事实材料文件：{path}", "请检查文件是否被占用或是否有读取权限") from exc
    _check_size(len(raw))
    return _decode(raw), path.suffix.lower()


def _check_size(size: int) -> None:
    """Refuse inputs over :data:`MAX_FACTS_BYTES`."""
    if size > MAX_FACTS_BYTES:
        raise InputError(
            f"事实材料文件过大（{size / 1024 / 1024:.1f} MB），不能超过 1 MB",
            "请只保留与本次对照检查直接相关的事实，删去大段原文；附件材料不必放入事实文件",
        )


def _decode(raw: bytes) -> str:
    """Decode UTF-8 (BOM optional), UTF-16 with BOM, or GBK/GB18030."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    if b"\x00" in raw:
        raise InputError(
            "这不是文本文件（可能是 Word、PDF 或压缩包）", "请把事实材料整理成 YAML 或 JSON 文本文件后再上传"
        )
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise InputError("无法识别事实材料文件的编码", "请用记事本或编辑器将文件另存为 UTF-8 编码后重新上传")


def _pick_format(fmt: str | None, suffix: str | None, text: str) -> str:
    """``"yaml"`` or ``"json"``: explicit ``fmt`` first, then the suffix, then the content."""
    if fmt:
        name = fmt.strip().lower().lstrip(".")
        name = "yaml" if name == "yml" else name
        if name not in {"yaml", "json"}:
            raise InputError(f"不支持的事实材料格式：{fmt}", "格式只能是 yaml 或 json")
        return name
    if suffix == ".json":
        return "json"
    if suffix in {".yaml", ".yml"}:
        return "yaml"
    return "json" if text.lstrip().startswith(("{", "[")) else "yaml"


def _parse(text: str, fmt: str) -> Any:
    """Parse YAML or JSON; syntax errors become ``InputError`` with a line number."""
    if not text.strip():
        raise InputError("事实材料是空的", "请参照 examples/facts/ 中的示例填写单位、年度和事实列表")
    if fmt == "json":
        try:
            return json.loads(text)
        except RecursionError as exc:  # deeply nested brackets: a crash before this fix
            raise InputError("JSON 嵌套层数过多，无法解析", "事实材料只需要两三层：顶层字段和 facts 列表；请检查括号是否成对") from exc
        except json.JSONDecodeError as exc:
            raise InputError(
                f"JSON 格式有误：第{exc.lineno}行第{exc.colno}列附近",
                "请检查逗号、引号、括号是否成对，中文引号不能代替英文双引号；也可改用 YAML 格式",
            ) from exc
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise _yaml_error(exc) from exc
    except (ValueError, TypeError, RecursionError) as exc:
        raise InputError("YAML 内容无法解析", "请对照 examples/facts/ 中的示例检查格式") from exc


class _UniqueKeyLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and leaves dates as text.

    PyYAML silently keeps the last of duplicate keys, and turns ``source: 2025-11-30`` into a date;
    dates are parsed later by pydantic, where a bad one gets a Chinese message.
    """

    yaml_implicit_resolvers = {
        first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, str) and key in seen:
                raise InputError(
                    f"YAML 第{key_node.start_mark.line + 1}行：字段“{key}”重复出现",
                    "同一层级的字段只能写一次；多条事实请在 facts 下用“- ”逐条列出",
                )
            seen.add(key)
        return super().construct_mapping(node, deep=deep)


_YAML_PROBLEMS = (
    ("mapping values are not allowed", "冒号使用有误：内容里含有“: ”时，请用引号把整段文字括起来"),
    ("cannot start any token", "含有制表符（Tab）或特殊符号：请用空格缩进，特殊符号开头的内容请加引号"),
    ("could not find expected ':'", "缺少冒号：每个字段应写成“字段名: 内容”"),
    ("expected <block end>", "缩进不一致：同一层级的字段要对齐"),
    ("did not find expected", "缩进或列表格式有误：事实条目应以“- ”开头并对齐"),
    ("found undefined alias", "含有无法识别的“*”符号：以 * 开头的内容请加引号"),
    ("unexpected end of stream", "引号没有成对"),
)


def _yaml_error(exc: yaml.YAMLError) -> InputError:
    """Translate a PyYAML error into Chinese with its position."""
    mark = getattr(exc, "problem_mark", None)
    where = f"第{mark.line + 1}行第{mark.column + 1}列附近" if mark else ""
    problem = str(getattr(exc, "problem", "") or "")
    detail = next((cn for en, cn in _YAML_PROBLEMS if en in problem), "格式有误")
    return InputError(
        f"YAML 格式有误：{where}{'，' if where else ''}{detail}",
        "请对照 examples/facts/ 中的示例检查缩进（只用空格）、冒号和引号",
    )


def _top_level_error(data: Any) -> InputError:
    """Error for a document whose top level is not a mapping."""
    if isinstance(data, list):
        return InputError(
            "事实材料最外层应是“字段: 内容”的键值对，现在是一个列表",
            "若这是事实列表，请把它放在 facts（事实列表）下面，并补上 unit（单位）、meeting_type（材料类型）、"
            "year（年度）",
        )
    if data is None:
        return InputError("事实材料是空的", "请参照 examples/facts/ 中的示例填写单位、年度和事实列表")
    return InputError(
        "事实材料最外层应是“字段: 内容”的键值对，现在只有一段文字",
        "请按 unit（单位）、meeting_type（材料类型）、year（年度）、facts（事实列表）等字段填写",
    )


# --------------------------------------------------------------------------------------------------
# Chinese validation messages

_TOP_LABELS = {
    "unit": "单位", "meeting_type": "材料类型", "year": "年度", "frame": "检视框架", "meeting_date": "会议日期",
    "writer": "撰写人", "preparation": "会前准备", "facts": "事实列表", "notes": "备注",
}  # fmt: skip
_NESTED_LABELS = {
    "writer": {"name": "姓名", "role": "职务"},
    "preparation": {"study_sessions": "学习研讨次数", "talks": "谈心谈话人次", "opinions": "征求意见条数"},
    "facts": {"id": "编号", "category": "类别", "text": "内容", "source": "来源", "aspect": "对应方面",
              "people": "涉及人员"},
}  # fmt: skip
_ENGLISH_KEYS = {cn: en for labels in (_TOP_LABELS, *_NESTED_LABELS.values()) for en, cn in labels.items()}
_TEMPLATES = {
    "missing": "缺少{label}",
    "string_type": "{label}应为文字",
    "string_too_short": "{label}不能为空",
    "string_too_long": "{label}过长，最多{max_length}字",
    "string_pattern_mismatch": "{label}格式不对",
    "int_type": "{label}应为整数",
    "int_parsing": "{label}应为整数",
    "int_from_float": "{label}应为整数",
    "greater_than_equal": "{label}不能小于{ge}",
    "less_than_equal": "{label}不能大于{le}",
    "literal_error": "{label}只能是：{choices}",
    "list_type": "{label}应为列表（每项以“- ”开头）",
    "too_short": "{label}至少要有{min_length}条",
    "too_long": "{label}最多{max_length}条",
    "model_type": "{label}应为“字段: 内容”的键值对",
    "model_attributes_type": "{label}应为“字段: 内容”的键值对",
    "dict_type": "{label}应为“字段: 内容”的键值对",
    "date_type": "{label}应为日期，如2026-01-20",
    "date_parsing": "{label}应为日期，如2026-01-20",
    "date_from_datetime_parsing": "{label}应为日期，如2026-01-20",
    "date_from_datetime_inexact": "{label}只填日期，不要带时间",
}
_HINTS = {
    "missing": "请补上缺少的字段",
    "extra_forbidden": "请检查字段名拼写（只用英文字段名，如 unit、year、facts、text）",
    "zj_duplicate_id": "每条事实的 id 必须唯一，如 F1、F2、F3",
    "zj_writer_required": "请填写 writer，例如 writer: {name: 姓名（可不填）, role: 分管办公室、财务的副局长}",
    "string_pattern_mismatch": "事实编号只用字母、数字、“-”“_”，如 F1；检视框架填 knowledge_base/frames/ 中的 id",
}
_GENERAL_HINT = "字段说明可运行 zhaojing facts-schema 查看，或参照 examples/facts/ 中的示例"
_MAX_SHOWN = 8


def _validation_error(exc: ValidationError, data: Mapping[str, Any]) -> InputError:
    """One ``InputError`` listing every problem in Chinese, with hints for the kinds found."""
    errors = exc.errors(include_url=False)
    lines = [_describe(err, data) for err in errors[:_MAX_SHOWN]]
    if len(errors) == 1:
        message = f"事实材料填写有误：{lines[0]}"
    else:
        numbered = "；".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
        message = f"事实材料有{len(errors)}处填写有误：{numbered}"
    if len(errors) > _MAX_SHOWN:
        message += f"；……另有{len(errors) - _MAX_SHOWN}处"
    hints = dict.fromkeys(_HINTS[e["type"]] for e in errors if e["type"] in _HINTS)
    return InputError(message, "；".join([*hints, _GENERAL_HINT]))


def _describe(err: Mapping[str, Any], data: Mapping[str, Any]) -> str:
    """One error in Chinese: field label, what is wrong, and the offending value."""
    loc, kind = tuple(err["loc"]), err["type"]
    if kind == "extra_forbidden":
        where, key = _loc_label(loc[:-1]), str(loc[-1])
        spelled = f"（应写作 {_ENGLISH_KEYS[key]}）" if key in _ENGLISH_KEYS else ""
        return f"{where}{'中' if where else ''}有不认识的字段“{key}”{spelled}{_fact_ref(loc[:-1], data)}"
    label = _loc_label(loc)
    if kind.startswith("zj_"):
        return f"{label}：{err['msg']}" if label else err["msg"]
    template = _TEMPLATES.get(kind)
    ctx = {**err.get("ctx", {}), "choices": _choices(err)}
    text = template.format(label=label or "内容", **ctx) if template else f"{label or '内容'}填写有误"
    if kind == "literal_error":
        guess = nearest_choice(str(err.get("input", "")), _choices(err).split("、"))
        if guess:  # a near miss: say which value was probably meant rather than list them all
            return f"{label or '内容'}填写有误{_shown_value(err)}，是否应为“{guess}”？{_fact_ref(loc, data)}"
    return text + _shown_value(err) + _fact_ref(loc, data)


def nearest_choice(value: str, choices: list[str]) -> str | None:
    """The allowed value closest to what was typed (“担当作为” → “担当”), or None when nothing is close."""
    import difflib

    value = value.strip()
    if not value:
        return None
    contained = [c for c in choices if c and (c in value or value in c)]
    if len(contained) == 1:
        return contained[0]
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.5)
    return close[0] if close else None


def _loc_label(loc: tuple[Any, ...]) -> str:
    """Chinese name for an error location, e.g. ``("facts", 2, "text")`` → 第3条事实的内容."""
    if not loc:
        return ""
    top = str(loc[0])
    label = _TOP_LABELS.get(top, f"“{top}”")
    if len(loc) == 1 or top not in _NESTED_LABELS:
        return label
    if top == "facts":
        label, loc = f"第{int(loc[1]) + 1}条事实", loc[1:]
        if len(loc) == 1:
            return label
    field = str(loc[1])
    label = f"{label}的{_NESTED_LABELS[top].get(field, f'“{field}”')}"
    if len(loc) > 2 and isinstance(loc[2], int):
        label += f"（第{loc[2] + 1}项）"
    return label


def _fact_ref(loc: tuple[Any, ...], data: Mapping[str, Any]) -> str:
    """``（编号F3）`` when the error sits inside a fact whose id is known, else empty."""
    if len(loc) < 2 or loc[0] != "facts" or not isinstance(loc[1], int) or loc[2:3] == ("id",):
        return ""
    facts = data.get("facts")
    item = facts[loc[1]] if isinstance(facts, list) and loc[1] < len(facts) else None
    fact_id = item.get("id") if isinstance(item, Mapping) else None
    return f"（编号{fact_id}）" if isinstance(fact_id, str | int) and str(fact_id).strip() else ""


def _choices(err: Mapping[str, Any]) -> str:
    """Allowed values of a ``Literal`` field, joined with 、."""
    expected = str(err.get("ctx", {}).get("expected", ""))
    return "、".join(re.findall(r"'([^']*)'", expected)) or expected


def _shown_value(err: Mapping[str, Any]) -> str:
    """``（现为“…”）`` for short scalar inputs, so the user can find the line."""
    value = err.get("input")
    if (
        err["type"] == "missing"
        or not isinstance(value, str | int | float | bool | date)
        or str(value).strip() == ""
    ):
        return ""
    shown = str(value)
    if isinstance(value, str) and err["type"] == "string_too_long":
        shown = f"{len(value)}字"
    elif len(shown) > 20:
        shown = shown[:20] + "…"
    return f"（现为“{shown}”）"


# --------------------------------------------------------------------------------------------------
# Schema description for users (UI help panel and ``zhaojing facts-schema``)

FACTS_SCHEMA_DOC = f"""\
事实材料格式说明（YAML 或 JSON，UTF-8 或 GBK 编码，不超过 1 MB）

照镜只根据这里提供的事实起草，不编造事例、数字和人名；没有事实支撑的方面会标注【请补充具体事例】。

最外层字段：
- unit（单位，必填）：如“岚溪县农业农村局领导班子”
- meeting_type（材料类型，必填）：班子、个人、支部 三选一
- year（年度，必填）：会议所属年度，如 2025 表示“2025年度”（通常次年初召开），范围 2015–2035
- frame（检视框架，可不填）：knowledge_base/frames/ 中的 id，如 2025-minzhu-wugedaitou；不填则按年度和材料类型自动选择
- meeting_date（会议日期，可不填）：如 2026-01-20
- writer（撰写人，个人材料必填）：name（姓名，可不填）、role（职务分工，如“分管办公室、财务的副局长”）
- preparation（会前准备，可不填）：study_sessions（学习研讨次数）、talks（谈心谈话人次）、opinions（征求意见条数）
- facts（事实列表，必填，1–{MAX_FACTS}条）：每条事实包含
  - id（编号，必填且不重复）：如 F1、F2
  - category（类别，必填）：{"、".join(CATEGORIES)}
  - text（内容，必填，不超过{MAX_FACT_CHARS}字）：写清时间、经过、数字、项目名称和本人（本班子）的责任
  - source（来源）：如“2025年11月征求意见汇总第3条”“县委第二巡察组反馈意见第2条”
  - aspect（对应方面，可不填）：检视方面的名称或关键词，如“担当作为”
  - people（涉及人员）：事实中出现的他人姓名，导出或调用远程模型前会脱敏
- notes（备注，可不填）：给起草人的其他说明
"""
