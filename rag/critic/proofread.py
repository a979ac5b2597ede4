"""Deep proofreading (深度校对): typos scored in context with the embedded model's log-probabilities.

1. Candidates come from confusion sets: characters with the same pinyin (pypinyin, over the common
   characters of jieba's dictionary) and shape-similar characters (``knowledge_base/lexicons/
   shape_similar.yaml``), plus deleting a doubled character. A candidate is kept only when it makes a
   dictionary word where the text has none (or a far more frequent one), so a sentence yields a handful.
2. Each sentence with candidates is scored by the model as written and with each candidate; a character
   is flagged only when a candidate is far more likely (``margin`` nats), and the finding says which
   character was meant.

It costs model time (one short forward pass per sentence and candidate, the shared prefix reused), so it
is an option (``zhaojing critique --proofread``, “深度校对” on the 批改 page); the rule pass stays fast.
"""

from __future__ import annotations

import math
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.critic.lexicon import LEXICON_DIR

SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")
CJK = re.compile(r"[\u4e00-\u9fff]")
MARGIN = 6.0
"""How much more likely (log-probability, nats) a candidate sentence must be to flag the character."""
MAX_CANDIDATES = 5
"""Candidates scored per sentence at most (the most word-like replacements first)."""
RATIO = 20
"""How much more frequent a word the replacement must make (dictionary counts) to be worth scoring."""
NEAR = True
"""Also score replacements that make a word nearly as frequent as an already common one."""
LEFT, RIGHT = 12, 8
"""Context scored around a candidate: characters before and after it (the rest of the sentence barely
moves the comparison, and scoring a window instead of the sentence keeps each call short)."""
COMMON_CHARS = 4500


@dataclass(frozen=True)
class Typo:
    """A character the model finds far less likely than a candidate: where, what, what was meant."""

    start: int
    end: int
    wrong: str
    correct: str
    gain: float
    """Log-probability gained by the correction (nats)."""


# ----------------------------------------------------------------------------------------- confusion sets

@lru_cache(maxsize=1)
def _dictionary() -> tuple[dict[str, int], list[str]]:
    """jieba's dictionary (word → frequency) and its most frequent characters."""
    import jieba

    words: dict[str, int] = {}
    chars: dict[str, int] = {}
    path = Path(jieba.__file__).parent / "dict.txt"
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) < 2 or not parts[1].isdigit():
                continue
            word, freq = parts[0], int(parts[1])
            if 2 <= len(word) <= 4 and freq >= 3:
                words[word] = freq
            for ch in word:
                chars[ch] = chars.get(ch, 0) + freq
    common = sorted(chars, key=chars.get, reverse=True)[:COMMON_CHARS]
    for word in _genre_words():
        words[word] = max(words.get(word, 0), 1000)
    return words, common


def _genre_words() -> list[str]:
    """Fixed formulations and the project's own dictionary words (从严治党, 三会一课…), with their
    two- to four-character pieces, so that a garbled formulation yields its correction."""
    import yaml

    out: list[str] = []
    for e in yaml.safe_load((LEXICON_DIR / "formulation.yaml").read_text(encoding="utf-8")).get("entries", []) or []:
        out.append(str(e.get("correct", "")))
    userdict = LEXICON_DIR / "jieba_userdict.txt"
    if userdict.is_file():
        out += [line.split()[0] for line in userdict.read_text(encoding="utf-8").splitlines() if line.strip()]
    pieces = [w[a:a + n] for w in out for n in (2, 3, 4) for a in range(0, max(0, len(w) - n) + 1)]
    return [p for p in dict.fromkeys(pieces) if CJK.fullmatch(p[0]) and len(p) >= 2]


@lru_cache(maxsize=1)
def _homophones() -> dict[str, list[str]]:
    """pinyin (no tone) → the common characters that read so, most frequent first."""
    from pypinyin import Style, lazy_pinyin

    _, common = _dictionary()
    out: dict[str, list[str]] = {}
    for ch in common:
        if CJK.fullmatch(ch):
            out.setdefault(lazy_pinyin(ch, style=Style.NORMAL)[0], []).append(ch)
    return out


@lru_cache(maxsize=1)
def _shapes() -> dict[str, set[str]]:
    import yaml

    data = yaml.safe_load((LEXICON_DIR / "shape_similar.yaml").read_text(encoding="utf-8"))
    out: dict[str, set[str]] = {}
    for group in data.get("groups", []):
        for ch in group:
            out.setdefault(ch, set()).update(c for c in group if c != ch)
    return out


FUZZY = [("zh", "z"), ("ch", "c"), ("sh", "s"), ("ing", "in"), ("eng", "en"), ("ang", "an")]
"""Sounds that pinyin input mixes up (front and back nasals, flat and curled tongue)."""


def _fuzzy(py: str) -> set[str]:
    out = {py}
    for a, b in FUZZY:
        for x in list(out):
            if x.startswith(a) or x.endswith(a):
                out.add(x.replace(a, b, 1))
            elif x.startswith(b) or x.endswith(b):
                out.add(x.replace(b, a, 1))
    return out


def confusions(ch: str) -> set[str]:
    """Characters ``ch`` is easily typed for: same or near pinyin (common ones) and similar shape."""
    from pypinyin import Style, lazy_pinyin

    table = _homophones()
    py = lazy_pinyin(ch, style=Style.NORMAL)[0]
    same = {c for p in _fuzzy(py) for c in table.get(p, [])[:40]}
    return (same | _shapes().get(ch, set())) - {ch}


def _best_word(text: str, i: int) -> int:
    """The frequency of the most frequent dictionary word of 2–4 characters covering position ``i``."""
    words, _ = _dictionary()
    best = 0
    for n in (2, 3, 4):
        for a in range(max(0, i - n + 1), min(i, len(text) - n) + 1):
            best = max(best, words.get(text[a:a + n], 0))
    return best


def candidates(sentence: str) -> list[tuple[int, str, str]]:
    """(position, wrong, replacement) pairs worth scoring: the replacement makes a dictionary word where
    the sentence has none or a far rarer one; "" deletes a doubled character."""
    out: list[tuple[int, str, str, int]] = []
    for i, ch in enumerate(sentence):
        if not CJK.fullmatch(ch):
            continue
        here = _best_word(sentence, i)
        for alt in confusions(ch):
            fixed = sentence[:i] + alt + sentence[i + 1:]
            there = _best_word(fixed, i)
            if there >= 50 and (there > RATIO * max(here, 1) or (NEAR and here >= 50 and there >= here / RATIO)):
                out.append((i, ch, alt, there / max(here, 1)))  # how much more word-like the text becomes
        if i and sentence[i - 1] == ch:
            out.append((i, ch, "", 10 ** 9))  # a doubled character: always worth a look
    out.sort(key=lambda c: -c[3])
    return [(i, w, r) for i, w, r, _ in out[:MAX_CANDIDATES]]


# ----------------------------------------------------------------------------------------- the model

class Scorer:
    """Sentence log-probabilities from the embedded model (its own llama.cpp context with logits for
    every position; the prefix shared with the previous call is reused)."""

    def __init__(self, model_path: str, n_ctx: int = 512, threads: int | None = None) -> None:
        import llama_cpp

        from rag.llm.embedded import default_threads

        self.llama = llama_cpp.Llama(model_path=model_path, n_ctx=n_ctx, logits_all=True, verbose=False,
                                     n_threads=threads or default_threads())
        self.lock = threading.Lock()

    def logprob(self, text: str) -> float:
        """log P(text) under the model (nats), from the first token on."""
        llama = self.llama
        tokens = llama.tokenize(text.encode("utf-8"), add_bos=True, special=False)[: llama.n_ctx() - 1]
        with self.lock:
            keep = 0
            for a, b in zip(llama.input_ids[:llama.n_tokens], tokens, strict=False):
                if a != b:
                    break
                keep += 1
            keep = min(keep, len(tokens) - 1)
            llama._ctx.kv_cache_seq_rm(-1, keep, -1)
            llama.n_tokens = keep
            llama.eval(tokens[keep:])
            logits = np.asarray(llama.scores[: len(tokens) - 1], dtype=np.float64)
        top = logits.max(axis=1, keepdims=True)
        logz = top[:, 0] + np.log(np.exp(logits - top).sum(axis=1))
        picked = logits[np.arange(len(tokens) - 1), tokens[1:]]
        return float((picked - logz).sum())


@lru_cache(maxsize=1)
def default_scorer() -> Scorer:
    """A scorer over the embedded model (assembled by ``zhaojing setup``)."""
    from rag.config import get_settings
    from rag.llm import ensure_gguf

    return Scorer(str(ensure_gguf(get_settings())))


# ----------------------------------------------------------------------------------------- proofreading

def sentences(text: str) -> Iterator[tuple[int, str]]:
    """(offset, sentence) for each sentence with Chinese in it."""
    for m in SENTENCE.finditer(text):
        if CJK.search(m.group(0)):
            yield m.start(), m.group(0)


def proofread(text: str, scorer: Scorer | Callable[[str], float] | None = None, *, margin: float = MARGIN,
              progress: Callable[[int, int], None] | None = None) -> list[Typo]:
    """Typos in ``text``: characters whose best candidate makes the sentence ``margin`` nats more likely."""
    score = scorer.logprob if isinstance(scorer, Scorer) else scorer or default_scorer().logprob
    todo = list(sentences(text))
    out: list[Typo] = []
    for n, (offset, sent) in enumerate(todo, start=1):
        best: dict[int, Typo] = {}
        bases: dict[tuple[int, int], float] = {}
        for i, wrong, right in candidates(sent):
            a, b = max(0, i - LEFT), min(len(sent), i + 1 + RIGHT)
            if (a, b) not in bases:
                bases[(a, b)] = score(sent[a:b])
            gain = score(sent[a:i] + right + sent[i + 1:b]) - bases[(a, b)]
            if gain >= margin and (i not in best or gain > best[i].gain):
                best[i] = Typo(offset + i, offset + i + 1, wrong, right, round(gain, 2))
        out += sorted(best.values(), key=lambda t: t.start)
        if progress:
            progress(n, len(todo))
    return out


def findings(text: str, typos: list[Typo]):
    """The typos as critic findings (rule ``form.proofread``), quoting the word around each."""
    from rag.critic.model import Finding

    out = []
    for t in typos:
        meant = f"“{t.correct}”" if t.correct else "删去这个字"
        out.append(Finding(
            rule="form.proofread", level="warning", part="document", start=t.start, end=t.end,
            quote=text[t.start:t.end], message=f"疑似错别字：“{t.wrong}”，应为{meant}。",
            suggestion=f"核对上下文：“{text[max(0, t.start - 4):t.end + 4]}”。",
            basis="深度校对：语言模型判断改正后的句子通顺得多（校对结果仅供参考，请人工确认）。",
            detail=f"可能性提高 {math.exp(min(t.gain, 30)):.0f} 倍",
        ))
    return out
