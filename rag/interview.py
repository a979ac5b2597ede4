"""Gathering the facts by chat: an interview that asks about the meeting, then aspect by aspect.

The questions are data (``knowledge_base/interview/questions.yaml``). The interview is a small state machine
whose whole state is a pydantic model (JSON in, JSON out), so the UI can keep it in the draft store and
survive a page refresh:

* :func:`start` opens an interview (answers already known can be passed in and are not asked again);
* :func:`answer` takes one reply and returns the next state. First the meeting questions (material type,
  year or 专题 frame, unit, the writer's post for a 个人 draft, the preparation figures and the meeting date,
  the last two skippable), then one question per aspect of the chosen frame, then the frame's required sections (上年度整改, 反面典型案例剖析). Each reply becomes a
  :class:`~rag.draft.facts.Fact` under that aspect. A reply with no concrete anchor (the critic's
  :func:`~rag.critic.predicates.anchored`: no number, date, named thing or named source) gets exactly one
  follow-up asking for the instance; “跳过” skips the aspect, “结束” stops the interview at any time;
* :func:`to_unit_facts` / :func:`to_yaml` turn what was gathered into a facts file that
  :func:`~rag.draft.facts.load_facts` reads back.

Bad replies never raise: the state gets an assistant message in Chinese saying what was wrong and the
question is asked again. Only :func:`to_unit_facts` (nothing gathered yet) and a corrupt saved state raise
:class:`~rag.errors.InputError`.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, Field, ValidationError

from rag.config import KB_DIR
from rag.critic.predicates import anchored
from rag.draft.facts import MAX_FACT_CHARS, MEETING_TYPES, Fact, Preparation, UnitFacts, facts_from_dict
from rag.draft.injection import neutralize
from rag.errors import InputError
from rag.frames import Aspect, Frame, get_frame, load_frames, select_frame

__all__ = [
    "QUESTIONS_PATH",
    "InterviewState",
    "Turn",
    "answer",
    "current_topic",
    "fact_rows",
    "load_questions",
    "parse_meeting_date",
    "parse_preparation",
    "preparation_summary",
    "progress",
    "start",
    "state_from_json",
    "to_unit_facts",
    "to_yaml",
    "with_facts",
]

QUESTIONS_PATH = KB_DIR / "interview" / "questions.yaml"
TOPICAL = ("学习", "政治", "党性", "作风", "纪律", "廉洁", "担当", "管党治党")
"""Categories that name what a problem is about (the others name where it came from)."""
MAX_UNIT_CHARS = 100
MAX_ROLE_CHARS = 200
_SOURCE = re.compile(r"[（(]?\s*(?:来源|出处|依据)\s*[:：]\s*([^（）()]+?)\s*[）)]?\s*[。.；;]?\s*$")
_PUNCT = re.compile(r"[\s。.!！,，;；、~～]+")
_YEAR_ONLY = re.compile(r"^\s*((?:19|20)\d{2})\s*(?:年度?)?\s*$")
_YEAR_ANY = re.compile(r"((?:19|20)\d{2})")
_OPTION = re.compile(r"^\s*第?\s*(\d{1,2})\s*(?:个|项|号|种)?\s*$")
FIGURES = {"study_sessions": ("学习研讨", "次"), "talks": ("谈心谈话", "人次"), "opinions": ("征求意见", "条")}
"""The preparation figures the draft's opening cites: field → (what, unit), in the order they are asked."""
FIGURE_LABELS = {"study_sessions": "学习研讨次数", "talks": "谈心谈话人次", "opinions": "征求意见条数"}
FIGURE_EXAMPLES = {"study_sessions": 4, "talks": 15, "opinions": 9}
_CLAUSE = re.compile(r"[，,；;。、\n]+")
_CN_NUM = "零〇一二两三四五六七八九十百千"
_NUMBER = re.compile(rf"(?<![\d.])(\d{{1,7}}|[{_CN_NUM}]+)(?!\d)(?!\s*[年月日号%.．])\s*(人次|次|场|期|条|项|个|人)?")
_FIGURE_WORDS = {"talks": ("谈心", "谈话"), "opinions": ("征求", "意见", "建议"), "study_sessions": ("学习", "研讨", "中心组", "读书")}
_DATE_FULL = re.compile(r"((?:19|20)\d{2})\s*[年\-./／]\s*(\d{1,2})\s*[月\-./／]\s*(\d{1,2})")
_DATE_MONTH_DAY = re.compile(r"(?<!\d)(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")


# ------------------------------------------------------------------------------ the questions (data)

class Kind(BaseModel):
    """One kind of aspect: the keywords that recognise it, the fact category, the question and examples."""

    kind: str
    keywords: list[str] = Field(default_factory=list)
    category: str = "其他"
    section: bool = False
    ask: str = Field(min_length=5)
    good: str = Field(min_length=5)
    bad: str = Field(min_length=2)


class MeetingQuestion(BaseModel):
    key: Literal["meeting_type", "frame", "unit", "writer_role", "preparation", "meeting_date"]
    ask: str = Field(min_length=5)
    only_for: list[str] = Field(default_factory=list)


class Commands(BaseModel):
    skip: list[str]
    stop: list[str]
    next: list[str]


class QuestionBank(BaseModel):
    """``questions.yaml`` validated."""

    version: int = 1
    intro: str
    commands: Commands
    max_facts_per_aspect: int = Field(3, ge=1, le=10)
    roles: dict[str, str]
    meeting: list[MeetingQuestion]
    follow_up: str
    preparation_missing: str
    more: str
    recorded_vague: str
    kinds: list[Kind]
    generic: Kind

    def kind_for(self, aspect_text: str, *, section: bool = False) -> Kind:
        """The first kind (of sections, or of aspects) whose keyword the text contains; else the generic one."""
        pool = [k for k in self.kinds if k.section == section]
        return next((k for k in pool if any(w in aspect_text for w in k.keywords)), self.generic)

    def kind(self, name: str) -> Kind:
        return next((k for k in self.kinds if k.kind == name), self.generic)

    def command(self, text: str) -> str | None:
        """``"stop"``, ``"skip"``, ``"next"`` when the whole reply is one of those words, else ``None``."""
        word = _PUNCT.sub("", text)
        for name in ("stop", "skip", "next"):
            if word in getattr(self.commands, name):
                return name
        return None


def load_questions(path: Path = QUESTIONS_PATH) -> QuestionBank:
    """The question bank (cached per file and modification time); errors are Chinese InputErrors."""
    try:
        stamp = path.stat().st_mtime_ns
    except OSError as exc:
        raise InputError(f"找不到对话采集的问题清单：{path}", "请检查 knowledge_base/interview/questions.yaml 是否存在") from exc
    return _load_questions(path, stamp)


@lru_cache(maxsize=4)
def _load_questions(path: Path, _stamp: int) -> QuestionBank:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        return QuestionBank.model_validate(data)
    except (OSError, yaml.YAMLError) as exc:
        raise InputError(f"问题清单 {path.name} 无法读取", "请检查文件编码（UTF-8）和 YAML 格式") from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first.get("loc", ()))
        raise InputError(f"问题清单 {path.name} 格式有误：{where}", "请对照文件开头的说明修改") from exc


# ------------------------------------------------------------------------------ the state

class Turn(BaseModel):
    """One chat message. ``kind``: question, note (information), error (bad reply), answer (the user's)."""

    role: Literal["assistant", "user"]
    text: str
    kind: Literal["question", "note", "error", "answer"] = "question"


class Topic(BaseModel):
    """One thing to ask about: an aspect of the frame, or a required section (上年度整改, 案例)."""

    name: str
    label: str
    kind: str
    category: str
    section: bool = False


class InterviewState(BaseModel):
    """Everything about one interview; ``model_dump_json()`` / :func:`state_from_json` round-trip it."""

    version: int = 1
    stage: Literal["meeting", "topics", "done"] = "meeting"
    meeting_step: str | None = None
    meeting_type: str | None = None
    year: int | None = None
    frame_id: str | None = None
    unit: str | None = None
    writer_role: str | None = None
    preparation: Preparation = Field(default_factory=Preparation)
    meeting_date: dt.date | None = None
    settled: list[str] = Field(default_factory=list)
    """Optional meeting questions already answered or skipped (preparation, meeting_date)."""
    topics: list[Topic] = Field(default_factory=list)
    topic_index: int = 0
    phase: Literal["ask", "follow_up", "more"] = "ask"
    pending: str = ""
    """A vague reply waiting for its one follow-up."""
    facts: list[Fact] = Field(default_factory=list)
    skipped: list[str] = Field(default_factory=list)
    messages: list[Turn] = Field(default_factory=list)
    finished: int | None = None
    """Aspects dealt with (answered or skipped) when the interview ended; None while it runs."""

    @property
    def done(self) -> bool:
        return self.stage == "done"


def state_from_json(text: str) -> InterviewState:
    """A saved interview; a corrupt one is an InputError (the UI then starts a new interview)."""
    try:
        return InterviewState.model_validate_json(text)
    except ValidationError as exc:
        raise InputError("保存的对话记录已损坏，无法继续", "请点“重新开始”开始新的对话采集") from exc


def current_topic(state: InterviewState) -> Topic | None:
    """The aspect or section being asked about (None before the aspects and after the end)."""
    if state.stage != "topics" or state.topic_index >= len(state.topics):
        return None
    return state.topics[state.topic_index]


def progress(state: InterviewState) -> tuple[int, int]:
    """(aspects dealt with: answered or skipped, aspects in all); (0, 0) while the meeting questions are asked.

    An interview ended early counts only the aspects reached: stopped while answering the 2nd of 3 is 2/3.
    """
    total = len(state.topics)
    done = state.finished if state.done and state.finished is not None else state.topic_index
    return min(done, total), total


def preparation_summary(state: InterviewState) -> str:
    """The preparation figures and meeting date gathered so far, in one line (“未填” for the missing ones)."""
    prep = state.preparation
    parts = [f"{what}{value}{unit}" if (value := getattr(prep, key)) is not None else f"{what}（未填）"
             for key, (what, unit) in FIGURES.items()]
    d = state.meeting_date
    when = f"{d.year}年{d.month}月{d.day}日" if d else "（未填）"
    return f"会前准备：{'、'.join(parts)}；会议日期：{when}"


# ------------------------------------------------------------------------------ start and answer

def start(
    *,
    meeting_type: str | None = None,
    year: int | None = None,
    frame_id: str | None = None,
    unit: str | None = None,
    writer_role: str | None = None,
    questions: QuestionBank | None = None,
) -> InterviewState:
    """A new interview; known answers are checked (InputError if wrong) and their questions skipped."""
    q = questions or load_questions()
    state = InterviewState()
    if year is not None and not 2015 <= year <= 2035:
        raise InputError("年度应在2015年到2035年之间", "请填写会议所属的年度，如2025")
    if meeting_type is not None:
        if meeting_type not in MEETING_TYPES:
            raise InputError(f"材料类型只能是：{'、'.join(MEETING_TYPES)}", "请从班子、个人、支部中选择")
        state.meeting_type = meeting_type
    if frame_id is not None:
        frame = get_frame(frame_id)
        state.frame_id = frame.id
        state.year = year or _default_year(frame)
    elif year is not None:
        frame = select_frame(year, meeting_type)
        if frame is None:
            raise InputError(f"没有找到{year}年度适用于{meeting_type or ''}材料的检视框架",
                             "请指定框架（frame_id），或在 data/frames/ 中添加该年度的框架")
        state.frame_id, state.year = frame.id, year
    if unit is not None:
        state.unit = _check_unit(unit)
    if writer_role is not None and writer_role.strip():
        state.writer_role = neutralize(writer_role.strip())[:MAX_ROLE_CHARS]
    _say(state, q.intro, "note")
    _next_meeting_question(state, q)
    return state


def answer(state: InterviewState, text: str, *, questions: QuestionBank | None = None) -> InterviewState:
    """The state after one reply (``state`` itself is not changed)."""
    q = questions or load_questions()
    new = state.model_copy(deep=True)
    reply = neutralize(text if isinstance(text, str) else "").strip()
    if new.done:
        _say(new, "对话采集已经结束。可以在右侧表格里修改事实，或点“重新开始”重新采集。", "error")
        return new
    if not reply:
        _say(new, "回答是空的。请输入你的回答；不想回答这一项可以输入“跳过”，想停止请输入“结束”。", "error")
        return new
    if len(reply) > MAX_FACT_CHARS:
        _say(new, f"这段回答有{len(reply)}字，太长了（一条最多{MAX_FACT_CHARS}字）。请只讲一件事，分几次说。", "error")
        return new
    new.messages.append(Turn(role="user", text=reply, kind="answer"))
    if q.command(reply) == "stop":
        return _stop(new, q)
    if new.stage == "meeting":
        _answer_meeting(new, reply, q)
    else:
        _answer_topic(new, reply, q)
    return new


def _say(state: InterviewState, text: str, kind: str = "question") -> None:
    state.messages.append(Turn(role="assistant", text=text.strip(), kind=kind))


# ------------------------------------------------------------------------------ meeting questions

def _meeting_questions(state: InterviewState, q: QuestionBank) -> list[MeetingQuestion]:
    return [m for m in q.meeting if not m.only_for or state.meeting_type in m.only_for]


_OPTIONAL = ("preparation", "meeting_date")


def _answered(state: InterviewState, key: str) -> bool:
    if key in _OPTIONAL:
        return key in state.settled
    return getattr(state, "frame_id" if key == "frame" else key) is not None


def _next_meeting_question(state: InterviewState, q: QuestionBank) -> None:
    """Ask the first unanswered meeting question, or move on to the aspects."""
    for m in _meeting_questions(state, q):
        if not _answered(state, m.key):
            state.meeting_step = m.key
            _say(state, m.ask + (_frame_menu(state) if m.key == "frame" else ""))
            return
    state.meeting_step = None
    _begin_topics(state, q)


def _answer_meeting(state: InterviewState, reply: str, q: QuestionBank) -> None:
    key = state.meeting_step
    command = q.command(reply)
    if key in _OPTIONAL:
        (_answer_preparation if key == "preparation" else _answer_meeting_date)(state, reply, command, q)
        return
    try:
        if command in ("skip", "next"):
            raise InputError(_REQUIRED.get(key or "", "这一项必须回答"))
        if key == "meeting_type":
            state.meeting_type = _parse_meeting_type(reply)
        elif key == "frame":
            frame, year = _parse_frame(reply, state.meeting_type)
            state.frame_id, state.year = frame.id, year
            _say(state, f"好的，按“{frame.name}”的{len(frame.aspects)}个方面来问。", "note")
        elif key == "unit":
            state.unit = _check_unit(reply)
        elif key == "writer_role":
            if len(reply) > MAX_ROLE_CHARS:
                raise InputError(f"职务分工太长了（最多{MAX_ROLE_CHARS}字），请简要说明。")
            state.writer_role = reply
    except InputError as exc:
        _say(state, exc.message + (f"\n\n{exc.hint}" if exc.hint else ""), "error")
        return
    _next_meeting_question(state, q)


_REQUIRED = {
    "meeting_type": "材料类型不能跳过：请回答班子、个人或支部。",
    "frame": "年度或专题不能跳过：起草要按这一年的检视方面来写。请回答年份或序号。",
    "unit": "单位不能跳过：材料的标题和开头都要用到单位名称。",
    "writer_role": "个人材料必须写明撰写人的职务和分工，否则无法把“自己、职责、工作”摆进去。",
}


def _settle(state: InterviewState, key: str, q: QuestionBank) -> None:
    state.settled.append(key)
    _next_meeting_question(state, q)


def _missing_figures(state: InterviewState) -> list[str]:
    return [key for key in FIGURES if getattr(state.preparation, key) is None]


def _figures_text(values: dict[str, int]) -> str:
    return "、".join(f"{FIGURES[k][0]}{v}{FIGURES[k][1]}" for k, v in values.items())


def _answer_preparation(state: InterviewState, reply: str, command: str | None, q: QuestionBank) -> None:
    """The preparation figures from a free reply; the ones not understood are asked for again (or skipped)."""
    if command in ("skip", "next"):
        missing = _missing_figures(state)
        if missing:
            labels = "、".join(FIGURES[k][0] for k in missing)
            _say(state, f"好的，{labels}的数字先空着，起草时材料开头会留下【请补充】标记。", "note")
        _settle(state, "preparation", q)
        return
    try:
        found, unclear = parse_preparation(reply, _missing_figures(state))
    except InputError as exc:
        _say(state, exc.message + (f"\n\n{exc.hint}" if exc.hint else ""), "error")
        return
    if not found:
        example = _figures_text(FIGURE_EXAMPLES)
        _say(state, f"没有看出会前准备的数字：“{reply[:30]}”。请按“{example}”这样回答；"
                    "没有统计可以回答“跳过”。", "error")
        return
    state.preparation = state.preparation.model_copy(update=found)
    missing = _missing_figures(state)
    if not missing:
        _say(state, f"记下了：{_figures_text(found)}。", "note")
        _settle(state, "preparation", q)
        return
    what = "、".join(FIGURE_LABELS[k] for k in missing)
    example = _figures_text({k: FIGURE_EXAMPLES[k] for k in missing})
    lead = f"记下了：{_figures_text(found)}。" + (f"“{'、'.join(unclear)[:40]}”没有看出是哪一项。" if unclear else "")
    _say(state, lead + q.preparation_missing.replace("{missing}", what).replace("{example}", example))


def _answer_meeting_date(state: InterviewState, reply: str, command: str | None, q: QuestionBank) -> None:
    if command in ("skip", "next"):
        _say(state, "好的，会议日期先空着；整改措施的时限会按惯例推算，请在草稿里核对。", "note")
        _settle(state, "meeting_date", q)
        return
    try:
        frame = get_frame(state.frame_id or "")
        state.meeting_date = parse_meeting_date(reply, state.year or _default_year(frame), special=frame.special)
    except InputError as exc:
        _say(state, exc.message + (f"\n\n{exc.hint}" if exc.hint else ""), "error")
        return
    d = state.meeting_date
    _say(state, f"记下了：会议日期{d.year}年{d.month}月{d.day}日。", "note")
    _settle(state, "meeting_date", q)


def _cn_int(text: str) -> int:
    """“4” → 4, “十五” → 15, “一百零八” → 108."""
    if text.isdigit():
        return int(text)
    digits = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8,
              "九": 9}
    units = {"十": 10, "百": 100, "千": 1000}
    total = number = 0
    for ch in text:
        if ch in digits:
            number = digits[ch]
        else:
            total += (number or 1) * units[ch]
            number = 0
    return total + number


def _figure_for(clause: str, unit: str) -> str | None:
    """Which figure a number in this clause is: its unit when that decides, else the clause's words."""
    if unit == "人次":
        return "talks"
    if unit in ("条", "项") and not any(w in clause for w in _FIGURE_WORDS["talks"]):
        return "opinions"
    return next((key for key, words in _FIGURE_WORDS.items() if any(w in clause for w in words)), None)


def parse_preparation(reply: str, missing: list[str] | None = None) -> tuple[dict[str, int], list[str]]:
    """The figures in a free reply (“学习研讨4次，谈心谈话15人次，征求意见9条”) and the parts not understood.

    A number is matched to a figure by its unit (人次, 条) or the words around it (谈心谈话, 征求意见, 学习研讨);
    bare numbers with nothing to tell them apart (“4、15、9”, or “9” when only one figure is missing) are taken
    in the order of ``missing`` (default: all three), when there are exactly as many.

    Raises:
        InputError: a figure out of range (more than the facts file accepts).
    """
    missing = list(FIGURES) if missing is None else missing
    found: dict[str, int] = {}
    unclear: list[str] = []
    bare: list[int] = []
    for clause in (c.strip() for c in _CLAUSE.split(reply)):
        numbers = [m for m in _NUMBER.finditer(clause) if m.group(1).isdigit() or m.group(2)]
        if not numbers:
            if any(w in clause for words in _FIGURE_WORDS.values() for w in words):
                unclear.append(clause)
            continue
        m = numbers[0]
        key = _figure_for(clause, m.group(2) or "")
        if key is None:
            if clause == m.group(0).strip():
                bare.append(_cn_int(m.group(1)))
            else:
                unclear.append(clause)
            continue
        found.setdefault(key, _cn_int(m.group(1)))
    if not found and bare and len(bare) == len(missing):
        found = dict(zip(missing, bare, strict=True))
    elif bare:
        unclear += [str(n) for n in bare]
    try:
        Preparation.model_validate(found)
    except ValidationError as exc:
        key = str(exc.errors()[0]["loc"][0])
        what, unit = FIGURES[key]
        raise InputError(f"{what}{found[key]}{unit}，这个数字太大了，请核对。") from exc
    return found, unclear


def parse_meeting_date(reply: str, year: int, *, special: bool = False) -> dt.date:
    """The meeting date from “2026年1月22日”, “2026-01-22” or “1月22日”.

    Without a year, an annual meeting (held early in the next year) gets ``year + 1`` for January to June;
    a 专题 meeting gets ``year``. The date must fall in ``year`` or ``year + 1``.
    """
    if (m := _DATE_FULL.search(reply)) is not None:
        y, month, day = (int(x) for x in m.groups())
    elif (m := _DATE_MONTH_DAY.search(reply)) is not None:
        month, day = int(m.group(1)), int(m.group(2))
        y = year if special or month > 6 else year + 1
    else:
        raise InputError(f"没有看出会议日期：“{reply[:20]}”。", "请按“2026年1月22日”这样回答；还没定可以回答“跳过”。")
    try:
        date = dt.date(y, month, day)
    except ValueError as exc:
        raise InputError(f"{y}年{month}月{day}日不是有效的日期，请核对。") from exc
    if date.year not in (year, year + 1):
        raise InputError(f"会议日期{date.year}年{month}月{day}日和{year}年度对不上。",
                         f"请写{year}年或{year + 1}年的日期；还没定可以回答“跳过”。")
    return date


def _parse_meeting_type(reply: str) -> str:
    options = {"1": "班子", "2": "个人", "3": "支部"}
    word = _PUNCT.sub("", reply)
    if word in options:
        return options[word]
    for name in ("支部", "个人", "班子"):  # “支部班子” is a 支部 draft
        if name in reply:
            return name
    raise InputError(f"没有看出是哪种材料：“{reply[:20]}”。请回答：班子、个人，或支部。")


def _options(meeting_type: str | None) -> list[Frame]:
    frames = [f for f in load_frames() if meeting_type is None or meeting_type in f.meeting_types]
    return sorted(frames, key=lambda f: (-(max(f.years) if f.years else 0), f.special, -f.priority, f.name))


def _frame_menu(state: InterviewState) -> str:
    lines = [f"{i}. {f.name}" for i, f in enumerate(_options(state.meeting_type), 1)]
    return "\n\n" + "\n".join(lines) if lines else ""


def _default_year(frame: Frame) -> int:
    return max(frame.years) if frame.years else dt.date.today().year - 1


def _parse_frame(reply: str, meeting_type: str | None) -> tuple[Frame, int]:
    """A frame from a year (the default frame), a menu number, or a frame's id or name."""
    options = _options(meeting_type)
    year_match = _YEAR_ANY.search(reply)
    year = int(year_match.group(1)) if year_match else None
    if year is not None and not 2015 <= year <= 2035:
        raise InputError("年度应在2015年到2035年之间", "请回答会议所属的年度，如2025")
    if (m := _OPTION.match(reply)) is not None:
        number = int(m.group(1))
        if not 1 <= number <= len(options):
            raise InputError(f"没有第{number}项，请回复1到{len(options)}之间的序号，或直接说年份。")
        frame = options[number - 1]
        return frame, year or _default_year(frame)
    if _YEAR_ONLY.match(reply) is None:
        word = _PUNCT.sub("", reply)
        named = [f for f in options if f.id == word or f.name in reply or (len(word) >= 2 and word in f.name)]
        if named:
            frame = named[0]
            return frame, year or _default_year(frame)
    if year is not None:
        frame = select_frame(year, meeting_type)
        if frame is not None:
            return frame, year
        raise InputError(f"没有找到{year}年度适用于{meeting_type or ''}材料的检视框架。",
                         "请从列出的框架中回复序号；新一年的框架可以放进 data/frames/。")
    raise InputError(f"没有看懂“{reply[:20]}”是哪一年度或哪个专题。", "请回答年份（如2025），或回复列出的框架序号。")


def _check_unit(text: str) -> str:
    unit = neutralize(text).strip()
    if len(unit) < 2:
        raise InputError("单位名称太短，请写全称，如“××县××局领导班子”。")
    if len(unit) > MAX_UNIT_CHARS:
        raise InputError(f"单位名称太长了（最多{MAX_UNIT_CHARS}字），请只写单位全称。")
    return unit


# ------------------------------------------------------------------------------ aspects

def _begin_topics(state: InterviewState, q: QuestionBank) -> None:
    frame = get_frame(state.frame_id or "")
    state.topics = [_topic(a, frame, q) for a in frame.aspects]
    for name in frame.required_sections:
        kind = q.kind_for(name, section=True)
        if kind is not q.generic:
            state.topics.append(Topic(name=name, label=name, kind=kind.kind, category=kind.category, section=True))
    state.stage, state.topic_index, state.phase = "topics", 0, "ask"
    _ask_topic(state, q)


def _topic(aspect: Aspect, frame: Frame, q: QuestionBank) -> Topic:
    """The aspect with its question kind (by name and keywords) and its fact category (frame map first)."""
    kind = q.kind_for(" ".join([aspect.name, *aspect.keywords]))
    mapped = [c for c in frame.categories_for(aspect) if c in TOPICAL]
    first = [c for c in mapped if frame.aspects_for(c)[:1] == [aspect]]  # categories sent here before elsewhere
    category = next((c for group in (first, mapped) for c in ([kind.category] if kind.category in group else group)),
                    kind.category)
    return Topic(name=aspect.name, label=aspect.label, kind=kind.kind, category=category)


def _fill(template: str, state: InterviewState, q: QuestionBank, topic: Topic | None = None) -> str:
    role = q.roles.get(state.meeting_type or "", next(iter(q.roles.values()), ""))
    return template.replace("{aspect}", topic.label if topic else "").replace("{role}", role)


def _ask_topic(state: InterviewState, q: QuestionBank) -> None:
    topic = current_topic(state)
    if topic is None:
        _finish(state, q, "各个方面都问完了。")
        return
    kind = q.kind(topic.kind)
    n, total = state.topic_index + 1, len(state.topics)
    head = f"（{n}/{total}）{topic.name}" if not topic.section else f"（{n}/{total}）{topic.name}（专门部分）"
    body = _fill(kind.ask, state, q, topic)
    _say(state, f"**{head}**\n\n{body}\n\n具体的说法，例如：{kind.good}\n\n太笼统的说法，例如：{kind.bad}")


def _answer_topic(state: InterviewState, reply: str, q: QuestionBank) -> None:
    topic = current_topic(state)
    if topic is None:  # defensive: an old state past its topics
        _finish(state, q, "各个方面都问完了。")
        return
    command = q.command(reply)
    if state.phase == "follow_up":
        pending, state.pending = state.pending, ""
        if command in ("skip", "next"):
            _say(state, "好的，这一条先不记；起草时这一方面如果没有别的事实，会留下【请补充】标记。", "note")
            _skip_if_empty(state, topic)
            _after_fact(state, q, topic)
            return
        combined = reply if pending in reply else f"{pending}；{reply}"
        _record(state, combined, topic)
        if not anchored(reply) and not anchored(combined):
            _say(state, q.recorded_vague, "note")
        _after_fact(state, q, topic)
        return
    if command in ("skip", "next"):
        _skip_if_empty(state, topic)
        _advance(state, q)
        return
    if anchored(reply):
        _record(state, reply, topic)
        _after_fact(state, q, topic)
        return
    state.pending, state.phase = reply, "follow_up"
    _say(state, _fill(q.follow_up, state, q, topic))


def _after_fact(state: InterviewState, q: QuestionBank, topic: Topic) -> None:
    """Ask for another instance under the same aspect, or move on when it has enough."""
    count = sum(1 for f in state.facts if _topic_of(f, state) == topic.name)
    if count == 0 or count >= q.max_facts_per_aspect:
        _advance(state, q)
        return
    state.phase = "more"
    _say(state, _fill(q.more, state, q, topic))


def _skip_if_empty(state: InterviewState, topic: Topic) -> None:
    if not any(_topic_of(f, state) == topic.name for f in state.facts):
        state.skipped.append(topic.name)


def _advance(state: InterviewState, q: QuestionBank) -> None:
    state.topic_index += 1
    state.phase, state.pending = "ask", ""
    _ask_topic(state, q)


def _aspect_of(topic: Topic) -> str | None:
    """The ``Fact.aspect`` for a topic: the aspect's name (sections have none: their category says it)."""
    return None if topic.section else topic.name


def _topic_of(fact: Fact, state: InterviewState) -> str | None:
    """The topic a fact was gathered under (sections are told apart by category)."""
    if fact.aspect:
        return fact.aspect
    return next((t.name for t in state.topics if t.section and t.category == fact.category), None)


def _split_source(text: str) -> tuple[str, str]:
    """“…。来源：2025年11月征求意见第3条” → (the fact, the source)."""
    m = _SOURCE.search(text)
    if m is None or m.start() == 0:
        return text, ""
    body = text[: m.start()].rstrip(" ，,；;")
    return body, m.group(1).strip()[:200]


def _next_id(state: InterviewState) -> str:
    taken = {f.id for f in state.facts}
    n = len(state.facts) + 1
    while f"F{n}" in taken:
        n += 1
    return f"F{n}"


def _record(state: InterviewState, text: str, topic: Topic) -> None:
    body, source = _split_source(text)
    fact = Fact(id=_next_id(state), category=topic.category, text=body[:MAX_FACT_CHARS], source=source,
                aspect=_aspect_of(topic))
    state.facts.append(fact)
    state.phase = "ask"


# ------------------------------------------------------------------------------ ending

def _stop(state: InterviewState, q: QuestionBank) -> InterviewState:
    """Stop now: a vague reply waiting for its follow-up is kept (the user did say it)."""
    topic = current_topic(state)
    replied = topic is not None and state.phase in ("follow_up", "more")
    if state.phase == "follow_up" and state.pending and topic is not None:
        _record(state, state.pending, topic)
        state.pending = ""
    _finish(state, q, "好的，先到这里。", replied=replied)
    return state


def _finish(state: InterviewState, q: QuestionBank, opening: str, *, replied: bool = False) -> None:
    """End the interview; ``replied``: the aspect being asked had a reply (it counts as dealt with)."""
    state.finished = min(state.topic_index + (1 if replied else 0), len(state.topics))
    state.stage, state.phase, state.meeting_step = "done", "ask", None
    asked = {t.name for t in state.topics[: state.topic_index + 1]}
    covered = {_topic_of(f, state) for f in state.facts}
    empty = [t.name for t in state.topics if t.name not in covered]
    lines = [f"{opening}共记下{len(state.facts)}条事实。"]
    if empty:
        never = [n for n in empty if n not in asked]
        lines.append("没有事实的方面：" + "；".join(empty) + "（起草时会留下【请补充】标记）。")
        if never:
            lines.append(f"其中{len(never)}个方面还没来得及问。")
    if state.topics and (missing := _missing_figures(state)):
        lines.append("会前准备还缺：" + "、".join(FIGURE_LABELS[k] for k in missing) + "（材料开头会留下【请补充】标记）。")
    if not state.facts:
        lines.append("还没有任何事实，暂时不能起草；点“重新开始”可以重新采集。")
    else:
        lines.append("右侧表格里可以修改、补充事实，然后下载事实文件或直接点“用这些事实起草”。")
    _say(state, "\n\n".join(lines), "note")


# ------------------------------------------------------------------------------ results

def to_unit_facts(state: InterviewState) -> UnitFacts:
    """The facts gathered so far as :class:`UnitFacts` (InputError, in Chinese, when not enough yet)."""
    missing = [label for key, label in (("meeting_type", "材料类型"), ("frame_id", "年度或专题"), ("unit", "单位"))
               if getattr(state, key) is None]
    if state.meeting_type == "个人" and not state.writer_role:
        missing.append("撰写人职务")
    if missing:
        raise InputError(f"会议信息还没有问完：缺少{'、'.join(missing)}", "请继续回答对话中的问题")
    if not state.facts:
        raise InputError("还没有记下任何事实，不能起草", "请至少回答一个检视方面的问题，或在表格里添加一条事实")
    data: dict[str, Any] = {
        "unit": state.unit,
        "meeting_type": state.meeting_type,
        "year": state.year,
        "frame": state.frame_id,
        "facts": [f.model_dump(exclude_none=True) for f in state.facts],
    }
    if state.writer_role:
        data["writer"] = {"role": state.writer_role}
    if state.meeting_date is not None:
        data["meeting_date"] = state.meeting_date
    if prep := state.preparation.model_dump(exclude_none=True):
        data["preparation"] = prep
    return facts_from_dict(data)


def to_yaml(state: InterviewState) -> str:
    """The facts file (YAML) for what was gathered; :func:`~rag.draft.facts.load_facts` reads it back."""
    facts = to_unit_facts(state)
    data = facts.model_dump(mode="json", exclude_none=True)
    for key in ("preparation", "notes"):
        if not data.get(key):
            data.pop(key, None)
    for fact in data["facts"]:
        for key in ("source", "people"):
            if not fact.get(key):
                fact.pop(key, None)
    header = (
        f"# 事实材料：{facts.unit} · {facts.meeting_type}材料 · {facts.year}年度\n"
        f"# 由照镜“对话采集事实”整理（{dt.date.today().isoformat()}），共{len(facts.facts)}条。\n"
        "# 可以直接修改后上传到“起草”页；字段说明见“事实材料格式说明”。\n"
    )
    return header + yaml.safe_dump(data, allow_unicode=True, sort_keys=False, width=1000)


def fact_rows(state: InterviewState) -> list[dict[str, str]]:
    """The facts as table rows (the keys :func:`with_facts` takes back)."""
    return [{"id": f.id, "category": f.category, "aspect": f.aspect or "", "text": f.text, "source": f.source}
            for f in state.facts]


_ROW_LABELS = {"id": "编号", "category": "类别", "text": "内容", "source": "来源", "aspect": "对应方面"}


def with_facts(state: InterviewState, rows: list[dict[str, Any]]) -> InterviewState:
    """The state with its facts replaced by edited table rows (blank rows dropped; missing ids filled in).

    Raises:
        InputError: a row that is not a valid fact, or two rows with the same id, named by row number.
    """
    new = state.model_copy(deep=True)
    new.facts = []
    for i, row in enumerate(rows, 1):
        clean = {k: str(v).strip() for k, v in row.items()
                 if k in _ROW_LABELS and v is not None and str(v).strip() and str(v) != "nan"}
        if not clean.get("text"):
            continue
        clean.setdefault("id", _next_id(new))
        clean.setdefault("category", "其他")
        try:
            fact = Fact.model_validate(clean)
        except ValidationError as exc:
            err = exc.errors()[0]
            field = _ROW_LABELS.get(str(err["loc"][0]) if err.get("loc") else "", "内容")
            raise InputError(f"第{i}行事实的{field}填写有误：{clean.get(str(err['loc'][0]), '')}"[:120],
                             "编号只用字母、数字、“-”“_”（如 F3）；类别请从下拉列表中选") from exc
        if any(f.id == fact.id for f in new.facts):
            raise InputError(f"第{i}行的编号“{fact.id}”和前面重复了", "每条事实的编号要唯一，如 F1、F2、F3")
        new.facts.append(fact)
    return new
