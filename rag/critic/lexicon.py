"""Phrase lexicons (``knowledge_base/lexicons/*.yaml``) matched with Aho-Corasick."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import ahocorasick
import yaml

from rag.config import KB_DIR

LEXICON_DIR = KB_DIR / "lexicons"


@dataclass
class Term:
    """A lexicon term with optional exclusion contexts and a suggested replacement."""

    term: str
    exclude: list[str] = field(default_factory=list)
    replacement: str = ""
    note: str = ""
    extra: dict = field(default_factory=dict)


@dataclass
class Hit:
    """A lexicon match: [start, end) in the searched text."""

    start: int
    end: int
    term: Term


class Lexicon:
    """A set of terms searchable in one pass; overlapping hits keep the longest."""

    def __init__(self, name: str, terms: list[Term]) -> None:
        self.name = name
        self.terms = terms
        self._auto = ahocorasick.Automaton()
        for t in terms:
            if t.term:
                self._auto.add_word(t.term, t)
        if terms:
            self._auto.make_automaton()

    def __len__(self) -> int:
        return len(self.terms)

    def find(self, text: str) -> list[Hit]:
        """All non-overlapping hits (longest first at each position), minus excluded contexts."""
        if not self.terms or not text:
            return []
        raw = []
        for end, term in self._auto.iter(text):
            start = end - len(term.term) + 1
            if not _excluded(text, start, end + 1, term):
                raw.append(Hit(start, end + 1, term))
        raw.sort(key=lambda h: (h.start, -(h.end - h.start)))
        kept: list[Hit] = []
        for h in raw:
            if kept and h.start < kept[-1].end:
                continue
            kept.append(h)
        return kept


def _excluded(text: str, start: int, end: int, term: Term) -> bool:
    for ctx in term.exclude:
        i = text.find(ctx, max(0, start - len(ctx)), end + len(ctx))
        while i != -1 and i <= start:
            if i + len(ctx) >= end:
                return True
            i = text.find(ctx, i + 1, end + len(ctx))
    return False


def _term(entry: object) -> Term:
    if isinstance(entry, str):
        return Term(entry)
    if isinstance(entry, dict):
        known = {"term", "exclude", "replacement", "note"}
        return Term(
            term=str(entry.get("term", "")),
            exclude=[str(x) for x in entry.get("exclude") or []],
            replacement=str(entry.get("replacement") or ""),
            note=str(entry.get("note") or ""),
            extra={k: v for k, v in entry.items() if k not in known},
        )
    raise ValueError(f"无法识别的词条：{entry!r}")


@lru_cache(maxsize=64)
def load_lexicon(name: str, folder: Path = LEXICON_DIR) -> Lexicon:
    """Load ``<folder>/<name>.yaml``; a missing file gives an empty lexicon."""
    path = folder / f"{name}.yaml"
    if not path.exists():
        return Lexicon(name, [])
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    entries = data.get("terms") or data.get("entries") or []
    return Lexicon(name, [_term(e) for e in entries if not isinstance(e, dict) or e.get("term")])


_INLINE_CACHE: dict[str, Lexicon] = {}
_INLINE_CACHE_MAX = 256


def lexicon_of(name: str, inline: list | None = None) -> Lexicon:
    """A named lexicon from the data folder, or an inline term list (compiled once per distinct list)."""
    if not inline:
        return load_lexicon(name)
    key = name + "\x00" + json.dumps(inline, ensure_ascii=False, sort_keys=True, default=str)
    lex = _INLINE_CACHE.get(key)
    if lex is None:
        if len(_INLINE_CACHE) >= _INLINE_CACHE_MAX:
            _INLINE_CACHE.clear()
        lex = _INLINE_CACHE[key] = Lexicon(name, [_term(e) for e in inline])
    return lex


@lru_cache(maxsize=64)
def _raw_entries(name: str, folder: Path) -> tuple[dict, ...]:
    path = folder / f"{name}.yaml"
    if not path.exists():
        return ()
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return tuple(data.get("entries") or [])


def raw_entries(name: str, folder: Path = LEXICON_DIR) -> list[dict]:
    """The raw ``entries`` list of a structured lexicon file (formulation, outdated); read once, cached."""
    return list(_raw_entries(name, folder))


def clear_caches() -> None:
    """Forget every loaded lexicon (after editing lexicon files in a running process)."""
    load_lexicon.cache_clear()
    _raw_entries.cache_clear()
    _INLINE_CACHE.clear()
