"""What a strict 组织部 reviewer sends a draft back for, as deterministic checks on its text.

Every check works on the rendered text (so the pipeline and the naive baseline are measured alike), with
the critic's parser for parts and items and the shared genre vocabulary (:mod:`rag.genre`) for what counts
as a claimed result, blame on others, a doubled word… Each has a test on hand-made text that makes it fail
(``tests/test_review_checks.py``).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from rag.critic.parse import ParsedDraft
from rag.draft.bank import cause_links
from rag.genre import MARKER, against_facts, find, hanzi, invented_behaviour, matches, unfounded_terms

ITEM_MARK = re.compile(r"^\s*(?:[一二三四五六七八九十]+是|[（(]?[一二三四五六七八九十\d]{1,2}[)）.．、])\s*")
LISTING = re.compile(r"(?:[^、。]{2,30}、){1,}[^、。]{2,30}等问题[，,]?\s*(?:说明|反映出?|暴露出?|表明)")
PROPOSAL = re.compile(r"牵头|负责|落实|督促|\d{4}\s*年|月底|年底|前完成|长期坚持|起$")
COMMON = {"问题", "工作", "加强", "不够", "落实", "一步", "进一", "整改", "建立", "制度", "开展", "推进", "完善", "提高",
          "情况", "方面", "要求", "责任", "全面", "深入", "认真", "切实", "坚持", "存在", "没有", "到位", "完成", "年度",
          "班子", "本人", "支部", "我们", "及时", "主动", "规范", "严格", "牵头", "具体", "底前", "月底"}


def body(text: str) -> str:
    """An item's text without its numbering."""
    return ITEM_MARK.sub("", text.strip())


def is_gap(text: str) -> bool:
    """Only a gap marker (no written content beside it)."""
    return not hanzi(MARKER.sub("", body(text)))


def items(doc: ParsedDraft, kind: str) -> list[tuple[str | None, str]]:
    """(aspect, text) of the items of a part, gap-only items included."""
    out = []
    for part in doc.parts_of(kind):
        out += [(it.aspect, it.text) for it in part.items if hanzi(it.text)]
    return out


# ----------------------------------------------------------------------------------------- problems

def has_dingxing(text: str) -> bool:
    """The item opens with a 定性: a short first sentence (4–26 字) without numbers that names a
    shortcoming, followed by the instance."""
    b = body(text)
    first, _, rest = b.partition("。")
    n = len(hanzi(first))
    return 4 <= n <= 26 and not re.search(r"\d", first) and matches("shortcoming", first) and len(hanzi(rest)) >= 8


def soft_verdict(text: str) -> bool:
    """The 定性 hedges (有待提高, 存在…现象) instead of naming the shortcoming."""
    first = body(text).partition("。")[0]
    return matches("soft_verdict", first)


def other_subject(text: str) -> bool:
    """The problem's 定性 has someone else as its subject (学校党组织书记的…, 业务股室的…)."""
    return matches("other_subject", body(text).partition("。")[0])


def dingxing_bent(text: str) -> str | None:
    """How the problem's 定性 bends its own instance (:func:`rag.draft.bank.item_bend`), or None. The
    round-4 reviewer's faults 1–3."""
    from rag.draft.bank import item_bend  # the genre data the drafter writes by

    return item_bend(body(text))


def avoidable_gaps(doc: ParsedDraft, aspects_filled: Sequence[str]) -> list[str]:
    """Aspects that a fact fits (labels) but which the draft leaves empty or as a gap marker."""
    by_aspect: dict[str, list[str]] = {}
    for aspect, text in items(doc, "problems"):
        by_aspect.setdefault(_key(aspect or ""), []).append(text)
    out = []
    for name in aspects_filled:
        texts = next((v for k, v in by_aspect.items() if k and (k in _key(name) or _key(name) in k)), [])
        if not texts or all(is_gap(t) for t in texts):
            out.append(name)
    return out


def _key(name: str) -> str:
    return hanzi(ITEM_MARK.sub("", name)).removesuffix("方面")[:10]


def placement(doc: ParsedDraft, facts: dict[str, str], labels: dict[str, list[str]]) -> tuple[float | None, list[str]]:
    """Share of labelled facts whose problem item sits under an acceptable aspect, and the misplaced ids."""
    from rag.evals.metrics import hanzi_bigrams

    problems = [(a, t) for a, t in items(doc, "problems") if not is_gap(t)]
    if not labels or not problems:
        return None, []
    wrong = []
    for fid, allowed in labels.items():
        grams = hanzi_bigrams(facts.get(fid, ""))
        if not grams:
            continue
        aspect, text = max(problems, key=lambda p: len(grams & hanzi_bigrams(p[1])))
        if len(grams & hanzi_bigrams(text)) / len(grams) < 0.3:
            wrong.append(fid)  # not used as a problem at all
        elif not any(_key(aspect or "") and (_key(aspect or "") in _key(a) or _key(a) in _key(aspect or ""))
                     for a in allowed):
            wrong.append(fid)
    return round(1 - len(wrong) / len(labels), 3), wrong


# ----------------------------------------------------------------------------------------- causes

def cause_left(text: str) -> bool:
    """The cause's reason is left for the user (a gap or choice marker)."""
    return bool(MARKER.search(text))


def cause_listing(text: str) -> bool:
    """A cause that only lists problem fragments and then “说明…”, or repeats the problem as its reason."""
    b = body(text)
    if LISTING.search(b):
        return True
    m = re.search(r"(.{6,40}?)[，,]\s*(?:说明|反映出?|表明)(.{4,40}?)[，。]", b)
    if m:
        from rag.draft.text import contained

        return contained(m.group(2), m.group(1)) >= 0.7
    return False


def cause_blames(text: str) -> bool:
    """The cause puts the fault on subordinates or others."""
    return matches("blame_others", body(text)) or matches("other_subject", cause_reason(text))


def cause_reason(text: str) -> str:
    """The reason of a cause item: after its heading sentence, without the closing “…根子都在这里” link
    (a cause written as one sentence is its own reason)."""
    b = body(text)
    head, sep, rest = b.partition("。")
    reason = rest if sep and hanzi(rest) else b
    link = re.compile(cause_links()["strip"])
    return "。".join(s for s in reason.split("。") if not link.search(s))


def cause_consequence(text: str) -> bool:
    """The cause tells consequences (导致…, 影响了…) instead of, or besides, the root."""
    return matches("consequence", cause_reason(text))


def cause_no_fault(text: str) -> bool:
    """The cause's reason names no shortcoming of the writer's own (a profession of faith is no analysis)."""
    reason = MARKER.sub("", cause_reason(text))
    return bool(hanzi(reason)) and not matches("self_fault", reason)


def cause_unfounded(text: str, known: str) -> list[str]:
    """Concrete things the cause's reason names that neither the facts nor the genre's thought words hold
    (“老干部” against facts about young cadres, “金额不大” against 12.4万元…)."""
    return unfounded_terms(MARKER.sub("", cause_reason(text)), known)


def cause_against_facts(text: str, known: str) -> str | None:
    """The cause contradicts itself or the facts, or tells a behaviour the facts lack (round-4 reviewer:
    “理论学习是硬任务…让学习让路”, “只要不违规” for a 违规 fact, “推给上级” nobody did), or None."""
    reason = MARKER.sub("", cause_reason(text))
    if matches("self_contradiction", reason):
        return "前后矛盾"
    return against_facts(reason, known) or invented_behaviour(reason, known)


def cause_right_view(text: str) -> bool:
    """The cause gives a correct view as its root (“认为调研应该深入”): it explains nothing."""
    return matches("right_view", cause_reason(text))


# ----------------------------------------------------------------------------------------- measures

def claimed(text: str) -> bool:
    """The measure states a result as already achieved."""
    return matches("claimed", body(text))


def repeated_clauses(measures: Sequence[str], times: int = 3) -> list[str]:
    """Clauses of six characters or more found in ``times`` or more measures (owner and deadline clauses,
    which are meant to repeat, are not counted)."""
    seen: Counter[str] = Counter()
    for m in measures:
        parts = {c.strip() for c in re.split(r"[，,；;。：:]", body(m)) if len(hanzi(c)) >= 6}
        seen.update(c for c in parts if not PROPOSAL.search(c) and not MARKER.search(c))
    return [c for c, n in seen.items() if n >= times]


def content_grams(text: str) -> set[str]:
    t = hanzi(MARKER.sub("", text))
    return {t[i:i + 2] for i in range(len(t) - 1)} - COMMON


def names_object(measure: str, problems: Sequence[str], min_shared: int = 2) -> bool:
    """The measure shares specific wording with some problem (it works on that problem's object)."""
    grams = content_grams(measure)
    return any(len(grams & content_grams(p)) >= min_shared for p in problems)


DATE_NUMBER = re.compile(r"\d{4}\s*年|\d{1,2}\s*月|\d{1,2}\s*日")


def numeric_target(measure: str, facts: Sequence[str]) -> bool:
    """The measure's target carries a number derived from the facts: one the facts hold, the difference of
    two numbers of one fact, or full coverage (100%)."""
    text = DATE_NUMBER.sub(" ", body(measure))
    numbers = re.findall(r"\d+(?:\.\d+)?", text)
    if "100%" in text.replace("％", "%"):
        return True
    for fact in facts:
        values = [float(x) for x in re.findall(r"\d+(?:\.\d+)?", DATE_NUMBER.sub(" ", fact))]
        diffs = {round(a - b, 3) for a in values for b in values if a > b}
        for n in numbers:
            v = float(n)
            if v in values or round(v, 3) in diffs:
                return True
    return False


# ----------------------------------------------------------------------------------------- language

def fragments(text: str) -> list[str]:
    """Cut pronouns and doubled words."""
    return [text[a:b] for name in ("cut_fragment", "doubled") for a, b in find(name, text)]


def wrong_voice(doc: ParsedDraft, meeting_type: str) -> list[str]:
    """Phrases in the wrong voice: a team material acting in the third person (街道应…), a 班子/支部
    material speaking as 我, a 个人 material garbling its self-reference, a 支部 material calling itself 班子."""
    out = []
    for kind in ("problems", "causes", "measures"):
        for _, text in items(doc, kind):
            b = re.sub(r"“[^”]*”", "", body(text))  # words quoted from others are not the writer's voice
            out += [b[a:e] for a, e in find("voice_third", b)]
            if meeting_type in ("班子", "支部"):
                out += re.findall(r"(?<![自])我(?!们|局|院|校|所|县|市|区|镇|乡|厂|司|部|委|办|单位|中心|支部)", b)
            if meeting_type == "支部":
                out += re.findall(r"班子(?!成员)", b)
    if meeting_type == "支部":
        for part in doc.parts_of("opening"):
            out += re.findall(r"班子(?!成员)", doc.norm[part.start:part.end])
    return out
