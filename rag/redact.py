"""Redaction of personal data before a remote model call, and restoration in its answer.

A :class:`Redactor` replaces personal names, phone numbers, 18-digit ID numbers and e-mail addresses
with placeholders such as ``〔人名1〕`` / ``〔电话1〕`` (the same value always gets the same placeholder)
and :meth:`Redactor.restore` puts the originals back. ``restore(redact(text)) == text`` for any text:
placeholder-looking text already present in the input is never reused.

Names come from three places:

* names given to ``Redactor(names=...)``;
* :func:`redaction_names` – a context manager callers wrap around model calls
  (``with redaction_names(facts.people_names()): ...``);
* the process-wide registry filled by :func:`register_names` – ``rag.draft.facts`` registers the writer and
  every ``people`` entry of each facts file it validates, so drafting code needs no extra call;

plus pattern detection of ``王建国同志``, ``局长王建国`` and ``王建国书记``-like mentions (common surnames
only, organisational words excluded).
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

__all__ = [
    "KINDS",
    "Redactor",
    "StreamRestorer",
    "clear_registered_names",
    "current_names",
    "find_sensitive",
    "redaction_names",
    "register_names",
]

KINDS = {"name": "人名", "phone": "电话", "id": "证件号", "email": "邮箱"}
MAX_REGISTERED = 5000
_PLACEHOLDER = re.compile(r"[〔\[【]\s{0,2}(人名|电话|证件号|邮箱)\s{0,2}(\d{1,4})\s{0,2}[〕\]】]")
_OPENERS = "〔[【"
_MAX_PLACEHOLDER = 20  # longest placeholder text we hold back while streaming (with spaces and digits)
_BAD_NAME_CHARS = re.compile(r"[\"\\\x00-\x1f〔〕\[\]【】]")

# --------------------------------------------------------------------------- patterns

_ID = re.compile(
    r"(?<![0-9A-Za-z])[1-9]\d{5}(?:18|19|20)\d{2}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])\d{3}[0-9Xx](?![0-9A-Za-z])"
)
_MOBILE = re.compile(r"(?<![0-9])(?:(?:\+|00)?86[-\s]?)?1[3-9]\d(?:[-\s]?\d{4}){2}(?![0-9])")
_LANDLINE = re.compile(r"(?<![0-9])(?:[(（]0\d{2,3}[)）]\s?|0\d{2,3}[-－])\d{7,8}(?:[-－转]\d{1,5})?(?![0-9])")
_EMAIL = re.compile(r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")

_SURNAMES = (
    "欧阳 司马 诸葛 上官 东方 皇甫 "
    "王 李 张 刘 陈 杨 黄 赵 吴 周 徐 孙 马 朱 胡 郭 何 林 罗 郑 梁 谢 宋 唐 许 韩 冯 邓 曹 彭 曾 肖 田 董 袁 "
    "潘 蒋 蔡 余 杜 叶 程 苏 魏 吕 丁 沈 姚 卢 姜 崔 钟 谭 陆 汪 范 廖 贾 夏 韦 付 邹 孟 熊 秦 邱 尹 薛 闫 段 "
    "雷 侯 龙 陶 黎 贺 顾 毛 郝 龚 邵 钱 严 覃 戴 莫 孔 汤 易 乔 赖 文 傅 樊 廖 洪 万 柳 鲁 葛 伍 翟 聂 庞 詹"
).split()
_TITLES = (
    "副书记 书记 副主任 主任 副局长 局长 副处长 处长 副科长 科长 副部长 部长 副主席 主席 副院长 院长 副校长 校长 "
    "总经理 副经理 经理 董事长 副行长 行长 副镇长 镇长 副县长 县长 副市长 市长 副区长 区长 副乡长 乡长 副厅长 厅长 "
    "所长 站长 队长 组长 委员 主任科员 科员 干事 会计 股长"
).split()
_TITLES.sort(key=len, reverse=True)
# characters that make "surname + 1–2 characters" an organisational word rather than a given name
_NOT_GIVEN = set(
    "副委党部办室科处局厅院校队组站所会长书记主任总董事经理务管分级层体面位些个们者员工作"
    "的了和与及或在是为对把被有等中也都就而之其这那着于从到并将要不没已曾再又很更最上下前后内外"
    "一二三四五六七八九十百千万年月日号次项条名人家里"
)
_SURNAME_RE = "|".join(sorted(_SURNAMES, key=len, reverse=True))
_TITLE_RE = "|".join(_TITLES)
_GIVEN = rf"(?:(?![{''.join(sorted(_NOT_GIVEN))}])[\u4e00-\u9fff])"
_STOP_AFTER = (
    r"同志|[，。、；：！？,.;:!?\s（）()“”\"'‘’《》]|$|在|说|讲|指出|提出|要求|强调|主持|带头|等|和|与|及|的|为|对|是|也|已|曾"
    r"|分管|负责|同|牵头|作|参加|出席|表示|认为|谈|因|被|向|从|到|于"
)
_NAME_COMRADE = re.compile(rf"(?:{_SURNAME_RE}){_GIVEN}{{1,2}}?(?=同志)")
_TITLE_THEN_NAME = re.compile(rf"(?:{_TITLE_RE})((?:{_SURNAME_RE}){_GIVEN}{{1,2}}?)(?={_STOP_AFTER})")
_NAME_THEN_TITLE = re.compile(rf"(?:{_SURNAME_RE}){_GIVEN}{{1,2}}(?=(?:{_TITLE_RE}))")


@dataclass(frozen=True)
class Span:
    """One detected value: ``text[start:end]`` of ``kind`` (name | phone | id | email)."""

    start: int
    end: int
    kind: str

    def value(self, text: str) -> str:
        return text[self.start : self.end]


def _plausible_name(candidate: str) -> bool:
    """Surname plus 1–2 characters none of which is an organisational or function character."""
    surname = next((s for s in sorted(_SURNAMES, key=len, reverse=True) if candidate.startswith(s)), "")
    given = candidate[len(surname) :]
    return bool(surname) and 1 <= len(given) <= 2 and not any(c in _NOT_GIVEN for c in given)


def _pattern_spans(text: str) -> list[Span]:
    spans = [Span(m.start(), m.end(), "id") for m in _ID.finditer(text)]
    spans += [Span(m.start(), m.end(), "phone") for rx in (_MOBILE, _LANDLINE) for m in rx.finditer(text)]
    spans += [Span(m.start(), m.end(), "email") for m in _EMAIL.finditer(text)]
    for rx in (_NAME_COMRADE, _TITLE_THEN_NAME, _NAME_THEN_TITLE):
        group = 1 if rx.groups else 0
        spans += [
            Span(m.start(group), m.end(group), "name") for m in rx.finditer(text) if _plausible_name(m.group(group))
        ]
    return spans


def clean_names(names: Iterable[str]) -> list[str]:
    """Usable names: stripped, at least 2 characters, no quotes/brackets/control characters, longest first."""
    out = {n.strip() for n in names if isinstance(n, str)}
    out = {n for n in out if len(n) >= 2 and not _BAD_NAME_CHARS.search(n)}
    return sorted(out, key=lambda n: (-len(n), n))


def _name_spans(text: str, names: list[str]) -> list[Span]:
    if not names:
        return []
    rx = re.compile("|".join(re.escape(n) for n in names))
    return [Span(m.start(), m.end(), "name") for m in rx.finditer(text)]


def _resolve(spans: list[Span]) -> list[Span]:
    """Non-overlapping spans: earliest first, then longest."""
    chosen: list[Span] = []
    end = -1
    for span in sorted(spans, key=lambda s: (s.start, -(s.end - s.start))):
        if span.start >= end:
            chosen.append(span)
            end = span.end
    return chosen


def find_sensitive(text: str, names: Iterable[str] = ()) -> list[Span]:
    """Every personal value in ``text`` (given names, detected names, phones, IDs, e-mails), in order."""
    return _resolve(_name_spans(text, clean_names(names)) + _pattern_spans(text))


# --------------------------------------------------------------------------- names from callers

_NAMES: contextvars.ContextVar[tuple[str, ...]] = contextvars.ContextVar("zhaojing_redaction_names", default=())
_REGISTRY: dict[str, None] = {}
_REGISTRY_LOCK = threading.Lock()


@contextlib.contextmanager
def redaction_names(names: Iterable[str]) -> Iterator[None]:
    """Add ``names`` to every redaction inside the block (nested blocks add up)."""
    token = _NAMES.set(_NAMES.get() + tuple(clean_names(names)))
    try:
        yield
    finally:
        _NAMES.reset(token)


def register_names(names: Iterable[str]) -> None:
    """Remember names process-wide (e.g. every facts file loaded); the oldest are dropped past 5,000."""
    with _REGISTRY_LOCK:
        for name in clean_names(names):
            _REGISTRY.pop(name, None)
            _REGISTRY[name] = None
        while len(_REGISTRY) > MAX_REGISTERED:
            _REGISTRY.pop(next(iter(_REGISTRY)))


def clear_registered_names() -> None:
    """Forget the process-wide names (tests)."""
    with _REGISTRY_LOCK:
        _REGISTRY.clear()


def current_names() -> list[str]:
    """Names from :func:`redaction_names` blocks and the process-wide registry."""
    with _REGISTRY_LOCK:
        registered = list(_REGISTRY)
    return clean_names([*_NAMES.get(), *registered])


# --------------------------------------------------------------------------- the redactor


@dataclass
class Redactor:
    """Consistent placeholders for one conversation; :meth:`restore` maps them back.

    ``names`` are redacted wherever they occur; ``use_context`` adds :func:`current_names`.
    """

    names: list[str] = field(default_factory=list)
    use_context: bool = True
    mapping: dict[str, str] = field(default_factory=dict)
    """placeholder → original value."""
    _by_value: dict[tuple[str, str], str] = field(default_factory=dict)
    _reserved: set[tuple[str, int]] = field(default_factory=set)
    _counters: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.names = clean_names([*self.names, *(current_names() if self.use_context else [])])

    def redact(self, text: str) -> str:
        """``text`` with every personal value replaced by its placeholder."""
        if not text:
            return text
        self._reserve(text)
        out: list[str] = []
        pos = 0
        for span in find_sensitive(text, self.names):
            out.append(text[pos : span.start])
            out.append(self._placeholder(span.kind, span.value(text)))
            pos = span.end
        out.append(text[pos:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """Put the original values back (also for 〔人名1〕 written as [人名1] or 【人名 1】)."""
        if not self.mapping or not text:
            return text

        def put_back(match: re.Match[str]) -> str:
            return self.mapping.get(f"〔{match.group(1)}{int(match.group(2))}〕", match.group(0))

        return _PLACEHOLDER.sub(put_back, text)

    def stream_restorer(self) -> StreamRestorer:
        """A restorer for an answer that arrives in pieces."""
        return StreamRestorer(self)

    def _reserve(self, text: str) -> None:
        """Never hand out a placeholder number the text itself already uses (keeps round trips exact)."""
        for match in _PLACEHOLDER.finditer(text):
            self._reserved.add((match.group(1), int(match.group(2))))

    def _placeholder(self, kind: str, value: str) -> str:
        key = (kind, value)
        if key not in self._by_value:
            label = KINDS[kind]
            n = self._counters.get(label, 0) + 1
            while (label, n) in self._reserved:
                n += 1
            self._counters[label] = n
            placeholder = f"〔{label}{n}〕"
            self._by_value[key] = placeholder
            self.mapping[placeholder] = value
        return self._by_value[key]


class StreamRestorer:
    """Restores a streamed answer piece by piece; a placeholder split across pieces is held back until
    it is complete, so ``"".join(feed(p) for p in pieces) + flush() == restore("".join(pieces))``."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._pending = ""

    def feed(self, piece: str) -> str:
        """Restored text that is safe to show now."""
        self._pending += piece
        cut = self._hold_from(self._pending)
        ready, self._pending = self._pending[:cut], self._pending[cut:]
        return self._redactor.restore(ready)

    def flush(self) -> str:
        """Whatever is still held back (call once at the end)."""
        ready, self._pending = self._pending, ""
        return self._redactor.restore(ready)

    @staticmethod
    def _hold_from(text: str) -> int:
        """Index from which the text may be the start of an unfinished placeholder (len(text) if none)."""
        start = max(text.rfind(c) for c in _OPENERS)
        if start < 0 or len(text) - start > _MAX_PLACEHOLDER:
            return len(text)
        tail = text[start:]
        if any(c in tail for c in "〕]】"):
            return len(text)
        return start
