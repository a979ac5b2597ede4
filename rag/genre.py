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


# ----------------------------------------------------------------------------------------- item-level checks
# Shared by the critic's rules (rag/critic/rules/60-machine.yaml), the drafter's checks and the eval.

CLAUSE_SPLIT = re.compile(r"[，,；;。！？!?：:\n]")
PROPOSAL = re.compile(r"牵头|负责|落实|督促|\d{4}\s*年|月底|年底|前完成|长期坚持|起$|^由")
LISTING = re.compile(r"(?:[^、。，]{2,30}、){1,}[^、。，]{2,30}(?:等(?:方面的)?问题)?[，,]?\s*(?:说明|反映出?|暴露出?|表明)")
ONLY_VERDICT = re.compile(r"[，,]\s*(?:这)?(?:说明|反映出?|表明)[^。，]{0,16}(?:不强|不够|不坚定|不牢|淡薄|淡化|出了问题|有差距|有偏差)。?$")
CAUSE_IS = re.compile(r"(?:主要)?原因(?:是|在于)|根子在于|是因为")
VERDICT = re.compile(r"总是|从来|一贯|根本不|完全不|丝毫|从不|彻底丧失|毫无|一切向钱")


def clauses_with_spans(text: str) -> list[tuple[int, int, str]]:
    """(start, end, clause) for each clause of ``text``, stripped."""
    out, pos = [], 0
    for piece in CLAUSE_SPLIT.split(text):
        start = text.find(piece, pos)
        pos = start + len(piece)
        stripped = piece.strip()
        if stripped:
            a = start + piece.index(stripped)
            out.append((a, a + len(stripped), stripped))
    return out


def repeated_within(text: str, min_han: int = 4) -> list[tuple[int, int]]:
    """Spans of clauses that repeat an earlier clause of the same text (the second and later ones)."""
    seen, out = set(), []
    for a, b, c in clauses_with_spans(text):
        key = hanzi(ITEM_PREFIX.sub("", c))
        if len(key) < min_han:
            continue
        if key in seen:
            out.append((a, b))
        seen.add(key)
    return out


def repeated_across(items: list[str], times: int = 3, min_han: int = 6) -> list[str]:
    """Clauses (of ``min_han`` characters or more) found in ``times`` or more items, owner and deadline
    clauses excepted (they are meant to repeat)."""
    from collections import Counter

    seen: Counter[str] = Counter()
    for item in items:
        parts = {c for _, _, c in clauses_with_spans(item) if len(hanzi(c)) >= min_han}
        seen.update(c for c in parts if not PROPOSAL.search(c) and not MARKER.search(c))
    return [c for c, n in seen.items() if n >= times]


def _grams(text: str) -> set[str]:
    t = hanzi(text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def _contained(a: str, b: str) -> float:
    ga = _grams(a)
    return len(ga & _grams(b)) / len(ga) if ga else 0.0


def _after_title(text: str) -> str:
    """A cause without its opening 定性 sentence (“（二）宗旨意识不牢。” / “一是……方面。”)."""
    body = ITEM_PREFIX.sub("", text.strip())
    first, sep, rest = body.partition("。")
    return rest if sep and len(hanzi(first)) <= 20 and rest.strip() else body


def cause_listing(text: str) -> bool:
    """A cause that lists problem fragments, or retells the problem, and then only says “说明…不强”."""
    rest = _after_title(text)
    m = LISTING.search(rest)
    if m and not matches("reason", re.sub(r"(?:说明|反映出?|暴露出?|表明)$", "", m.group(0))):
        return True
    m = ONLY_VERDICT.search(rest)
    return bool(m and not matches("reason", rest[:m.start()]))


def tautology(text: str) -> bool:
    """A cause that gives the problem as its own reason (“窗口差评多，说明服务作风不实”…): the part after
    说明/是因为/原因是 repeats the part before it, or a clause is stated twice in other words."""
    m = re.search(r"(.{4,40}?)[，,]\s*(?:说明|反映出?|表明|是因为|(?:主要)?原因是|根子在于)(.{4,40}?)[，。；]", text)
    if m and _contained(m.group(2), m.group(1)) >= 0.5:
        return True
    m = re.search(r"(.{2,12}?)的原因(?:是|在于)(.{2,12}?)[，。；]", text)
    if m and _contained(m.group(2), m.group(1)) >= 0.5:
        return True
    rest = _after_title(text)
    m = CAUSE_IS.search(rest)
    if m:  # “原因是” followed by a short clause that names no thought at all: the problem said again
        said = re.split(r"[，。；]", rest[m.end():])[0]
        return 0 < len(hanzi(said)) <= 20 and not matches("reason", said)
    return False


def groundless_verdict(text: str) -> bool:
    """A sweeping verdict (总是、从来…) about the writer or the team."""
    return bool(VERDICT.search(text))


def dingxing(text: str) -> bool:
    """A problem item that opens with a 定性: a short first sentence (4–26 字, no numbers) naming a
    shortcoming, followed by the instance."""
    body = ITEM_PREFIX.sub("", text.strip())
    first, _, rest = body.partition("。")
    n = len(hanzi(first))
    return 4 <= n <= 26 and not re.search(r"\d", first) and matches("shortcoming", first) and len(hanzi(rest)) >= 8


# ----------------------------------------------------------------------------------------- thought words

NOUN_TAGS = frozenset({"n", "nz", "ng", "nr", "ns", "nt", "nl", "vn", "an", "l", "i"})
"""jieba part-of-speech tags of the words a reason may only take from the facts or the thought words."""


@lru_cache(maxsize=1)
def _thought_data(path: Path = GENRE_DIR / "thought_words.yaml") -> dict:
    """``knowledge_base/genre/thought_words.yaml``: the words, the behaviours, the contradictions."""
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def thought_words(path: Path = GENRE_DIR / "thought_words.yaml") -> frozenset[str]:
    """The genre's own words for thought and Party spirit (``knowledge_base/genre/thought_words.yaml``)."""
    return frozenset(_thought_data(path)["words"])


def unfounded_terms(text: str, known: str) -> list[str]:
    """Nouns and set phrases in a reason that are neither in ``known`` (the facts and problems it explains)
    nor among the genre's thought words: things the writer never said (“老干部”“金额不大”“请示报告”)."""
    import jieba.posseg as pseg  # loaded on first use: jieba's dictionary takes a second

    words = thought_words()
    out: list[str] = []
    for w, tag in pseg.cut(text):
        if len(w) < 2 or tag not in NOUN_TAGS or w in words or w in known:
            continue
        if len(w) >= 4 and all(w[i:i + 2] in known or w[i:i + 2] in words for i in (0, len(w) - 2)):
            continue  # a compound of known parts (党员身份意识, 财务审核标准)
        out.append(w)
    return out


def invented_behaviour(text: str, known: str) -> str | None:
    """A concrete behaviour the reason tells (推给上级, 会后说说…) with no matching action in ``known``
    (thought_words.yaml → behaviours), or None."""
    for b in _thought_data().get("behaviours") or []:
        m = re.search(b["phrase"], text)
        if m and not re.search(b["needs"], known):
            return m.group(0)
    return None


def against_facts(text: str, known: str) -> str | None:
    """Why the reason contradicts the facts in ``known`` (thought_words.yaml → against_facts), or None."""
    for rule in _thought_data().get("against_facts") or []:
        if re.search(rule["fact"], known) and re.search(rule["reason"], text):
            return rule["message"]
    return None
