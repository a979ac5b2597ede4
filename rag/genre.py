"""One genre vocabulary for the drafter and the critic.

* Predicates kept as data in ``knowledge_base/genre/vocabulary.yaml`` (what counts as a reason, a claimed
  result, an owner, blame on others…), each with match/no-match examples checked by a meta-test:
  :func:`matches`, :func:`find`.
* Gap markers the drafter writes and the critic and metrics recognise (:data:`GAP`, :data:`MARKER` …).
* Part titles and the heading numbering of the genre.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from rag.config import KB_DIR

GENRE_DIR = KB_DIR / "genre"

# ----------------------------------------------------------------------------------------- markers

GAP = "【请补充：{what}】"
"""A gap the user must fill (no fact supports the item)."""
UNVERIFIED = "【待核实】"
"""Put where the guard removed a number, date or name that the facts do not support."""
PENDING = "【正在撰写：{what}】"
"""Shown in the live view for items still being written."""
UNFINISHED = "【未生成：{what}（模型调用中断，请重新起草或手工补写）】"
"""Left where a model call failed for good."""
CHOOSE = "【请选择或填写：{what}】"
"""A cause whose reason the model could not give: candidates from the bank are offered instead."""
MARKER = re.compile(r"【(?:请补充|待核实|待补充|未生成|正在撰写|请选择)[^】]*】")
"""Any of our own markers (the critic counts them as placeholders, metrics as gaps)."""

# ----------------------------------------------------------------------------------------- parts

PART_TITLES = {
    "rectification": "上年度民主生活会整改落实情况",
    "problems": "存在的问题",
    "case": "反面典型案例剖析",
    "causes": "原因分析",
    "measures": "整改措施",
}
CN_DIGITS = "一二三四五六七八九十"
ITEM_PREFIX = re.compile(r"^\s*(?:[一二三四五六七八九十]+是|[（(]?[一二三四五六七八九十\d]{1,2}[)）.．、])")
"""The numbering an item starts with (一是 / 1. / （1） / （一）)."""


def cn_number(n: int) -> str:
    """1 → 一, 11 → 十一 (up to 99)."""
    if n <= 10:
        return CN_DIGITS[n - 1]
    tens, ones = divmod(n, 10)
    return (CN_DIGITS[tens - 1] if tens > 1 else "") + "十" + (CN_DIGITS[ones - 1] if ones else "")


def hanzi(text: str) -> str:
    """Only the Chinese characters of ``text``."""
    return re.sub(r"[^\u4e00-\u9fff]", "", text)


# ----------------------------------------------------------------------------------------- predicates

@dataclass(frozen=True)
class Predicate:
    """One vocabulary entry: regexes, exclusions and its examples."""

    id: str
    description: str
    patterns: tuple[re.Pattern[str], ...]
    exclude: tuple[re.Pattern[str], ...] = ()
    examples: dict = field(default_factory=dict, hash=False, compare=False)

    def find(self, text: str) -> list[tuple[int, int]]:
        """Spans of every hit not covered by an exclusion (8 characters of context either side)."""
        out: list[tuple[int, int]] = []
        for pat in self.patterns:
            for m in pat.finditer(text):
                a, b = m.span()
                if a == b:
                    continue
                window_a, window_b = max(0, a - 8), min(len(text), b + 8)
                if any(_covers(x, text, window_a, window_b, a, b) for x in self.exclude):
                    continue
                out.append((a, b))
        return sorted(set(out))

    def __call__(self, text: str) -> bool:
        return bool(self.find(text))


def _covers(pat: re.Pattern[str], text: str, wa: int, wb: int, a: int, b: int) -> bool:
    """Does an exclusion match in the window around [a, b) and touch the hit?"""
    return any(m.start() < b and a < m.end() or m.end() == a or m.start() == b
               for m in pat.finditer(text, wa, wb))


@lru_cache(maxsize=4)
def vocabulary(path: Path = GENRE_DIR / "vocabulary.yaml") -> dict[str, Predicate]:
    """Every predicate of the vocabulary file, by id (cached)."""
    entries = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    out = {}
    for e in entries:
        out[e["id"]] = Predicate(
            id=e["id"], description=e.get("description", ""),
            patterns=tuple(re.compile(p) for p in e.get("patterns", [])),
            exclude=tuple(re.compile(p) for p in e.get("exclude", [])),
            examples=e.get("examples") or {},
        )
    return out


def predicate(name: str) -> Predicate:
    """The named predicate; KeyError for an unknown name."""
    return vocabulary()[name]


def matches(name: str, text: str) -> bool:
    """Does the named predicate hold for ``text``?"""
    return predicate(name)(text)


def find(name: str, text: str) -> list[tuple[int, int]]:
    """Where the named predicate matches in ``text``."""
    return predicate(name).find(text)


def unpaired_quotes(text: str) -> list[tuple[int, int]]:
    """Spans of quotes that are reversed (”…“) or have no partner, paragraph by paragraph."""
    out: list[tuple[int, int]] = []
    offset = 0
    for para in text.split("\n"):
        stack: list[int] = []
        for i, ch in enumerate(para):
            if ch == "“":
                stack.append(i)
            elif ch == "”":
                if stack:
                    stack.pop()
                else:
                    out.append((offset + i, offset + i + 1))
        out += [(offset + i, offset + i + 1) for i in stack]
        offset += len(para) + 1
    return out
