"""The drafter's data: worked examples, roots with their reason bank, targets, deadlines and owners.

All of it lives in ``knowledge_base/genre/*.yaml`` (written by us, checked by ``tests/test_genre.py``);
this module loads it and picks the examples nearest to a fact with the embedder it is given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from rag.genre import GENRE_DIR, hanzi


def _load(name: str, folder: Path = GENRE_DIR) -> Any:
    return yaml.safe_load((folder / f"{name}.yaml").read_text(encoding="utf-8"))


@dataclass(frozen=True)
class HeadingExample:
    category: str
    fact: str
    heading: str
    root: str = ""


@dataclass(frozen=True)
class ActionExample:
    category: str
    heading: str
    fact: str
    action: str


@dataclass(frozen=True)
class ReasonExample:
    problems: tuple[str, ...]
    reason: str


@dataclass(frozen=True)
class Root:
    """A thought/Party-spirit root of the cause analysis and its bank of worked reasons."""

    id: str
    title: str
    description: str
    categories: tuple[str, ...]
    reasons: dict[str, tuple[ReasonExample, ...]]
    template: str = ""
    keywords: re.Pattern[str] | None = None

    def examples(self, voice: str) -> tuple[ReasonExample, ...]:
        """The worked reasons for a material type (支部 uses the 班子 ones, said as 支委会)."""
        if voice == "个人":
            return self.reasons.get("个人", ())
        out = self.reasons.get("班子", ())
        if voice == "支部":
            out = tuple(ReasonExample(e.problems, e.reason.replace("班子成员", "支委成员").replace("班子", "支委会"))
                        for e in out if not LEADER_ONLY.search(e.reason))
        return out


LEADER_ONLY = re.compile(r"领导干部|分管")
"""Reasons that only a leadership team can give (not offered to a 支部)."""


@dataclass(frozen=True)
class TargetRule:
    id: str
    kind: str
    pattern: re.Pattern[str]
    template: str
    months: int | None
    examples: tuple[dict, ...]


@lru_cache(maxsize=1)
def heading_examples() -> tuple[tuple[HeadingExample, ...], dict[str, str]]:
    """(worked 定性 examples, fallback 定性 per fact category)."""
    data = _load("headings")
    return tuple(HeadingExample(**e) for e in data["examples"]), dict(data.get("fallback") or {})


@dataclass(frozen=True)
class SeriousRule:
    """A grave kind of fact whose 定性 must name it (headings.yaml → serious)."""

    id: str
    fact: re.Pattern[str]
    heading: re.Pattern[str]
    fallback: dict[str, str]
    examples: tuple[dict, ...]
    root: str = ""
    action: re.Pattern[str] | None = None
    action_examples: tuple[dict, ...] = ()
    action_fallback: str = ""


@lru_cache(maxsize=1)
def serious_rules() -> tuple[SeriousRule, ...]:
    """The grave kinds of fact and what their 定性 must name, in file order."""
    return tuple(SeriousRule(id=e["id"], fact=re.compile(e["fact"]), heading=re.compile(e["heading"]),
                             fallback={"个人": e.get("fallback_个人", e["fallback"]), "": e["fallback"]},
                             examples=tuple(e.get("examples") or ()), root=e.get("root", ""),
                             action=re.compile(e["action"]) if e.get("action") else None,
                             action_examples=tuple(e.get("action_examples") or ()),
                             action_fallback=e.get("action_fallback", ""))
                 for e in _load("headings").get("serious") or [])


def serious_for(fact: str) -> SeriousRule | None:
    """The first grave kind the fact holds (None when it holds none)."""
    return next((r for r in serious_rules() if r.fact.search(fact)), None)


@dataclass(frozen=True)
class Distortion:
    """A way a 定性 bends its fact (headings.yaml → distortions): the fact matches ``fact`` and the 定性
    matches ``heading``, where ``{obj}`` stands for any two adjacent characters of the fact's ``obj`` group
    (``{obj3}``: any three)."""

    id: str
    fact: re.Pattern[str]
    heading: str
    message: str
    examples: tuple[dict, ...]
    measures: bool = False
    """Also a fault in a measure's action (an excuse turned into a measure: 加强专业人才引进)."""

    def bends(self, heading: str, fact: str) -> bool:
        """Whether ``heading`` bends ``fact`` this way."""
        for m in self.fact.finditer(fact):
            obj = hanzi(m.groupdict().get("obj") or "")
            if (slot := re.search(r"\{obj(\d?)\}", self.heading)) is not None:
                n = int(slot.group(1) or 2)
                runs = {obj[i:i + n] for i in range(len(obj) - n + 1)}
                if not runs:
                    continue
                pattern = self.heading.replace(slot.group(0), "|".join(map(re.escape, sorted(runs))))
            else:
                pattern = self.heading
            if re.search(pattern, heading):
                return True
        return False


@lru_cache(maxsize=1)
def distortions() -> tuple[Distortion, ...]:
    """The ways a 定性 bends its fact, in file order."""
    return tuple(Distortion(id=e["id"], fact=re.compile(e["fact"]), heading=e["heading"], message=e["message"],
                            examples=tuple(e.get("examples") or ()), measures=bool(e.get("measures")))
                 for e in _load("headings").get("distortions") or [])


def distortion_in(heading: str, fact: str) -> Distortion | None:
    """The first way ``heading`` bends ``fact`` (None when it does not)."""
    return next((d for d in distortions() if d.bends(heading, fact)), None)


def item_bend(item: str) -> str | None:
    """How a problem item “{定性}。{事例}” bends its own instance: the distortion's id, or the grave kind its
    定性 fails to name (headings.yaml → serious); None when it does neither. Shared by the critic's
    ``problem.bent`` and the eval's ``review.dingxing_bent``."""
    first, _, rest = item.partition("。")
    if not hanzi(rest):
        return None
    if (bent := distortion_in(first, rest)) is not None:
        return bent.id
    grave = serious_for(rest)
    return grave.id if grave is not None and not grave.heading.search(first) else None


@lru_cache(maxsize=1)
def cause_links() -> dict:
    """The closings that tie a cause to its problems (cause_links.yaml: many, one, strip)."""
    return _load("cause_links")


@lru_cache(maxsize=1)
def action_examples() -> tuple[ActionExample, ...]:
    """Worked measure actions."""
    return tuple(ActionExample(**e) for e in _load("actions")["examples"])


@lru_cache(maxsize=1)
def roots() -> tuple[Root, ...]:
    """The roots of the cause analysis, in the order of the file."""
    out = []
    for e in _load("roots"):
        reasons = {voice: tuple(ReasonExample(tuple(r["problems"]), r["reason"]) for r in lst)
                   for voice, lst in (e.get("reasons") or {}).items()}
        out.append(Root(id=e["id"], title=e["title"], description=e["description"],
                        categories=tuple(e.get("categories") or ()), reasons=reasons,
                        template=e.get("template", ""),
                        keywords=re.compile(e["keywords"]) if e.get("keywords") else None))
    return tuple(out)


def root(root_id: str) -> Root:
    """A root by id (KeyError when unknown)."""
    for r in roots():
        if r.id == root_id:
            return r
    raise KeyError(root_id)


@lru_cache(maxsize=1)
def target_rules() -> tuple[TargetRule, ...]:
    """Rules deriving a checkable target from a fact's numbers."""
    return tuple(TargetRule(id=e["id"], kind=e["kind"], pattern=re.compile(e["pattern"]), template=e["template"],
                            months=e.get("months"), examples=tuple(e.get("examples") or ()))
                 for e in _load("targets"))


def lesson_examples(voice: str) -> list[dict]:
    """Worked case lessons for 班子 or 个人 (case, related problems → lesson)."""
    return list(_lessons().get(voice) or [])


def lesson_themes() -> list[dict]:
    """Where a case and a problem meet (lessons.yaml → themes: label, words)."""
    return list(_load_lessons().get("themes") or [])


@lru_cache(maxsize=1)
def _load_lessons() -> dict:
    return _load("lessons")


def _lessons() -> dict:
    return _load_lessons()["examples"]


@lru_cache(maxsize=1)
def measure_data() -> dict[str, Any]:
    """Deadline classes, owners by material type and category, fallback results."""
    return _load("measures")


# ----------------------------------------------------------------------------------------- nearest examples

class Nearest:
    """Pick the worked examples nearest to a text: embedding similarity, plus a bonus for the same category.

    The examples are embedded once per embedder (process-wide cache).
    """

    def __init__(self, embedder: Any, keys: list[str], categories: list[str]) -> None:
        self.embedder, self.categories = embedder, categories
        self.matrix = _embedded(embedder, tuple(keys))

    def pick(self, text: str, category: str = "", k: int = 2, skip: int = 0, vector: Any = None) -> list[int]:
        """Indices of the ``k`` nearest examples (after the ``skip`` nearest: a second try gets others)."""
        if not len(self.matrix):
            return []
        vec = vector if vector is not None else self.embedder.embed_query(text)
        score = self.matrix @ np.asarray(vec, dtype=np.float32)
        score = score + np.array([0.05 if c == category else 0.0 for c in self.categories], dtype=np.float32)
        order = list(np.argsort(-score))
        return [int(i) for i in order[skip:skip + k]]


_EMBEDDED: dict[tuple[int, tuple[str, ...]], np.ndarray] = {}


def _embedded(embedder: Any, keys: tuple[str, ...]) -> np.ndarray:
    key = (id(embedder), keys)
    if key not in _EMBEDDED:
        _EMBEDDED[key] = embedder.embed_passages(list(keys)) if keys else np.zeros((0, 1), dtype=np.float32)
    return _EMBEDDED[key]


def heading_nearest(embedder: Any) -> Nearest:
    examples, _ = heading_examples()
    return Nearest(embedder, [e.fact for e in examples], [e.category for e in examples])


def action_nearest(embedder: Any) -> Nearest:
    examples = action_examples()
    return Nearest(embedder, [f"{e.heading}。{e.fact}" for e in examples], [e.category for e in examples])
