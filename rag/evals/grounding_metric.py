"""The eval's own count of unsupported statements, written apart from the critic's checker.

The critic (and so the drafter's guard) parses claims into values (:mod:`rag.critic.grounding`). This
metric takes a different road, so that a blind spot of one is not silently shared by the other:
Chinese numerals are rewritten as Arabic with ``cn2an.transform`` on both texts, then tokens are cut with
plain regular expressions (a number with the characters around it, a date, a titled name, a body, a quoted
title) and looked up as text in the equally rewritten facts, with whole-number boundaries. Both are
measured against the mutation set (``zhaojing eval grounding``).
"""

from __future__ import annotations

import re
import warnings
from functools import lru_cache

SKIP = re.compile(r"【[^】]*】")
NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(%|万元|亿元|人次|万亩|个月|个工作日|[次个项名人场件处起条篇份轮户家天周年月座批期所台套元亩吨部种])?")
DATE = re.compile(r"\d{4}年(?:\d{1,2}月(?:\d{1,2}日)?)?|\d{1,2}月(?:\d{1,2}日)?")
QUOTED = re.compile(r"“([^”]{2,30})”|《([^》]{2,40})》")
APPROX = re.compile(r"近半数|过半数|半数以上|大半|近一半|三分之[一二]")
HOLIDAY = re.compile(r"春节|元旦|清明|端午|中秋|国庆|元宵|重阳")
FIXED = re.compile(r"两个确立|两个维护|四个意识|四个自信|[四五]个带头|三会一课|三重一大|二十届[一二三四五六七]中全会|"
                   r"十九届[一二三四五六七]中全会|八项规定|十四五|十五五|[一二三四五六七八九十]是|一把手|一岗双责|一些|统一|逐一|一线|一律|"
                   r"一般|一致|一起|一旦|一直|一定|进一步|之一|唯一|同一|一体|一切|一次性|两委|两张皮|一盘棋|"
                   r"[一二三四五六七八九十]个方面|三会一课|四风|两学一做|三严三实|一岗双责|两个务必|一部分|一件一件|一个一个|一次次|"
                   r"八小时以外|八小时之外")


@lru_cache(maxsize=1)
def _lists() -> tuple[re.Pattern[str], re.Pattern[str]]:
    import yaml

    from rag.critic.lexicon import LEXICON_DIR

    data = yaml.safe_load((LEXICON_DIR / "grounding.yaml").read_text(encoding="utf-8"))
    bodies = "|".join(sorted(data["bodies"], key=len, reverse=True))
    titles = "|".join(sorted(data["titles"], key=len, reverse=True))
    surnames = data["surnames"]
    body = re.compile(rf"(?:省|市|县|区|镇|乡|街道)?(?:委)?(?:{bodies})|(?:省|市|县|区)[\u4e00-\u9fff]{{2,6}}?局")
    person = re.compile(rf"(?:{titles})([{surnames}][\u4e00-\u9fff]{{1,2}})(?=[^\u4e00-\u9fff]|同志|在|未|没|对|的|是|被|全|曾|已)"
                        rf"|([{surnames}][\u4e00-\u9fff]{{1,2}})同志|[{surnames}]某某?")
    return body, person


def _arabic(text: str) -> str:
    """Chinese numerals rewritten as Arabic ones (cn2an), with 百分之X / X成 as percentages."""
    import cn2an

    text = FIXED.sub(lambda m: "＃" * len(m.group(0)), text)
    text = re.sub(r"([一二三四五六七八九])成(?![员绩果立为效就本])", lambda m: f"{'一二三四五六七八九'.index(m.group(1)) + 1}0%", text)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return cn2an.transform(text, "cn2an")
    except Exception:  # noqa: BLE001 - cn2an gives up on odd input: fall back to the text as is
        return text


def _whole(token: str, known: str) -> bool:
    return re.search(rf"(?<![\d.]){re.escape(token)}(?![\d.])", known) is not None


def unsupported(text: str, known: str) -> list[str]:
    """Tokens of ``text`` (gap markers skipped) that ``known`` does not contain."""
    body_re, person_re = _lists()
    flat_known = re.sub(r"\s", "", known)
    arabic_known = _arabic(flat_known)
    text = SKIP.sub("", re.sub(r"[ \t]", "", text))
    # clauses copied word for word from the facts are supported as a whole (their numerals included)
    text = "，".join(c for c in re.split(r"[，,；;。\n]", text) if not (len(c) >= 6 and c in flat_known))
    arabic = _arabic(text)
    out: list[str] = []
    for m in DATE.finditer(arabic):
        if m.group(0) not in arabic_known:
            out.append(m.group(0))
    for m in NUMBER.finditer(DATE.sub(" ", arabic)):
        number, unit = m.group(1), m.group(2) or ""
        if unit and re.search(rf"(?<![\d.]){re.escape(number + unit)}", arabic_known):
            continue
        if (unit and not unit.isspace()) or not _whole(number, arabic_known):
            out.append(m.group(0))
    out += [q for q in (m.group(1) or m.group(2) for m in QUOTED.finditer(text))
            if re.sub(r"\s", "", q) not in flat_known and not FIXED.fullmatch(q)]
    out += [m.group(0) for m in HOLIDAY.finditer(text) if m.group(0) not in flat_known]
    out += [m.group(0) for m in APPROX.finditer(text) if m.group(0) not in flat_known]
    out += [m.group(0) for m in body_re.finditer(text) if m.group(0) not in flat_known]
    out += [n for n in (m.group(1) or m.group(2) or m.group(0) for m in person_re.finditer(text)) if n not in flat_known]
    return out


MEASURES_HEAD = re.compile(r"^\s*[一二三四五六七八九十]+、\s*(?:整改措施|努力方向|整改方向|改进措施|整改举措)", re.MULTILINE)
PAST = re.compile(r"已|曾|此前|目前|截至|(?<!为)了(?=[，。；、])|得到了|取得|受到")


def draft_unsupported(text: str, known: str) -> list[str]:
    """Unsupported tokens of a whole draft: everything before 整改措施, and in the measures only the
    sentences that state a fact (已…, …了), not the proposed deadlines, owners and targets."""
    m = MEASURES_HEAD.search(text)
    head, measures = (text[:m.start()], text[m.start():]) if m else (text, "")
    statements = [s for s in re.split(r"[。；\n]", measures) if PAST.search(s)]
    return unsupported(head, known) + [t for s in statements for t in unsupported(s, known)]
