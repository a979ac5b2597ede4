"""Small text helpers shared by the drafting steps (character bigrams: Chinese has no spaces)."""

from __future__ import annotations

import re

from rag.genre import hanzi


def grams(text: str) -> set[str]:
    """Distinct bigrams of the Chinese characters of ``text``."""
    t = hanzi(text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def contained(a: str, b: str) -> float:
    """Share of ``a``'s Chinese character bigrams that also occur in ``b`` (0..1; 1.0 for an empty ``a``)."""
    ga = grams(a)
    return len(ga & grams(b)) / len(ga) if ga else 1.0


def similarity(a: str, b: str) -> float:
    """Overlap of the two texts' Chinese character bigrams (Jaccard, 0..1)."""
    ga, gb = grams(a), grams(b)
    return len(ga & gb) / len(ga | gb) if ga and gb else 0.0


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance between the Chinese characters of the two texts."""
    a, b = hanzi(a), hanzi(b)
    row = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1]


def near_same(a: str, b: str) -> bool:
    """Two 定性 that name the same thing: most bigrams shared, or one is the other with at most two characters
    put in (社区服务不到位 / 社区服务管理不到位, round-5 blind review; 调研不够深入 / 学习不够深入 differ in
    their topic and stay apart)."""
    gap = abs(len(hanzi(a)) - len(hanzi(b)))
    return similarity(a, b) >= 0.6 or (0 < gap <= 2 and edit_distance(a, b) == gap)


def clause(text: str) -> str:
    """``text`` without numbering, surrounding quotes and closing punctuation."""
    text = re.sub(r"^\s*(?:[一二三四五六七八九十]是|\d+[.、．])", "", text.strip())
    return text.strip().rstrip("。；;，,、 ")


def head_clause(text: str) -> str:
    """The first clause of a heading (“人口预测不足，过渡校舍不够” → “人口预测不足”): where headings are
    listed with 、, a comma inside one would make the list ambiguous."""
    return re.split(r"[，,；]", clause(text))[0]


def sentence(text: str) -> str:
    """``text`` as one sentence ending in 。 (closing punctuation normalised)."""
    body = clause(text)
    return f"{body}。" if body else ""


def clauses(text: str) -> list[str]:
    """The clauses of ``text`` (split at ，；。：), stripped, empty ones dropped."""
    return [c.strip() for c in re.split(r"[，,；;。：:！？!?]", text) if c.strip()]


def longest_common(a: str, b: str) -> int:
    """Length of the longest run of Chinese characters the two texts share."""
    x, y = hanzi(a), hanzi(b)
    best, prev = 0, [0] * (len(y) + 1)
    for ch in x:
        cur = [0] * (len(y) + 1)
        for j, other in enumerate(y, start=1):
            if ch == other:
                cur[j] = prev[j - 1] + 1
                best = max(best, cur[j])
        prev = cur
    return best


COMPLEMENTS = "入出进回到上下起开来去"
"""The characters whose loss breaks a phrase (转入后 → 转后); dropping others is often a fair shortening
(发展新党员 → 发展党员, 跨科室的问题 → 跨科室问题)."""


def dropped_char(text: str, source: str) -> str | None:
    """A run of ``text`` that is a phrase of ``source`` with one inner directional complement left out
    (“关系转后” for “关系转入后”, round-4 reviewer), or None. Runs that ``source`` holds are fine."""
    def runs(x: str, n: int) -> set[str]:  # within a stretch of Chinese characters, never across punctuation
        return {seg[i:i + n] for seg in re.findall(r"[\u4e00-\u9fff]+", x) for i in range(len(seg) - n + 1)}

    near = {w[:k] + w[k + 1:] for w in runs(source, 5) for k in (1, 2, 3) if w[k] in COMPLEMENTS}
    whole = hanzi(source)
    return next((r for r in sorted(runs(text, 4)) if r in near and r not in whole), None)


def word_start(text: str, start: int) -> int:
    """``start`` moved back to the beginning of the jieba word it falls in (“科室” cut to “室” → “科室”)."""
    import jieba  # loaded on first use

    pos = 0
    for w in jieba.cut(text):
        if pos <= start < pos + len(w):
            return pos
        pos += len(w)
    return start


OFFICE = re.compile(r"办公室|[\u4e00-\u9fff]{2}(?:股|科)(?![室学技研])|[\u4e00-\u9fff]{2,4}服务中心")
NOT_OFFICE = re.compile(r"[的我管在对由和与及向是了]")


def office_in(fact: str) -> str:
    """The first office or unit the fact names (财务股, 医务科, 办公室, 农机服务中心), else ""."""
    for m in OFFICE.finditer(fact):
        name = re.sub(r"^(?:年|月|日|本局|我局|局|县|市|区|下属|所属)+", "", m.group(0))
        if not NOT_OFFICE.search(name[:-1]):
            return name
    return ""
