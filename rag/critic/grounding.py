"""Grounding: every number, date, name, body and quoted title in a generated draft must be in the facts.

Claims are read in any form a draft writes them (``knowledge_base/lexicons/grounding.yaml`` lists the
words this needs):

* **numbers** with their unit, Arabic or Chinese (一百二十户, 两次, 十余名, 三成, 百分之四十), compared as
  whole values: “9场” is not supported by “19场”;
* **dates** in both scripts (2025年3月, 二〇二五年三月, 6月15日) and holidays (去年国庆期间), compared
  field by field (a month alone matches any known date in that month, never “11月” for “1月”);
* **people** named with a title or 同志 (jieba's part-of-speech tags find the name, a surname list confirms it),
  and anonymised ones (张某某);
* **bodies** (县纪委, 市审计局, 巡察组, 督查室…);
* **quoted names** of campaigns and documents (“…”, 《…》).

The known side is built the same way from the facts (and only the cited span of each source). Fixed
formulations (两个确立, 二十届四中全会…) are not claims.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from rag.critic.lexicon import LEXICON_DIR

_CN = "〇零一二两三四五六七八九十百千万亿"
_CN_DIGIT = {"〇": 0, "零": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}


@dataclass(frozen=True)
class Claim:
    """A checkable statement in a text: kind, the characters, where, and its normalised value."""

    kind: str  # number | date | person | body | quoted
    text: str
    start: int
    end: int
    value: tuple


@lru_cache(maxsize=1)
def _data() -> dict:
    import yaml

    return yaml.safe_load((LEXICON_DIR / "grounding.yaml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _patterns() -> dict[str, re.Pattern[str]]:
    d = _data()
    units = "|".join(sorted((re.escape(u) for u in d["measure_words"]), key=len, reverse=True))
    bodies = "|".join(sorted((re.escape(b) for b in d["bodies"]), key=len, reverse=True))
    phrases = "|".join(sorted((re.escape(p) for p in d["phrases"]), key=len, reverse=True))
    titles = "|".join(sorted((re.escape(t) for t in d["titles"]), key=len, reverse=True))
    return {
        "date_ar": re.compile(r"(\d{4})\s*年(?:度)?(?:\s*(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?)?"
                              r"|(?<![\d.])(\d{1,2})\s*月(?:\s*(\d{1,2})\s*日)?(?!\d)"),
        "date_cn": re.compile(r"([〇零一二三四五六七八九]{4})年(?:([一二三四五六七八九十]{1,3})月(?:([一二三四五六七八九十]{1,3})[日号])?)?"
                              r"|(?<![一二三四五六七八九十〇零])([一二三四五六七八九十]{1,3})月(?:([一二三四五六七八九十]{1,3})[日号])?(?!份子)"),
        "holiday": re.compile("|".join(map(re.escape, d["holidays"]))),
        "percent_cn": re.compile(r"百分之([一二三四五六七八九十百零〇两点]+)"),
        "tenths": re.compile(rf"(?<![{_CN}])([一二三四五六七八九十])成(?![员绩果立为效就本])"),
        "number_ar": re.compile(rf"(?<![\d.])(\d+(?:\.\d+)?)\s*(%|％|{units})?"),
        "number_cn": re.compile(rf"(?:第)?([{_CN}]+)(余|多|来)?({units})"),
        "approx": re.compile(r"(?:近|约|大约|将近|超过|不到|过)半数|大半|(?:近|约|将近)(?:一半|三分之一|三分之二)"),
        "phrase": re.compile(phrases),
        "body": re.compile(rf"((?:中央|省委|省|市委|市|县委|县|区委|区|镇|乡|街道|上级|派驻|驻局|驻院)?(?:第[一二三四五六七八九十]+)?)({bodies})"),
        "office": re.compile(r"(?<![\u4e00-\u9fff])?(?:省|市|县|区|镇|乡|街道)(?:委)?([\u4e00-\u9fff]{2,7}?)(?:局|厅|委员会|办公室|中心|研究院|管理处|所)(?=[^\u4e00-\u9fff]|[已在对于就将曾于向为的和与等也被])"),
        "title": re.compile(rf"(?:{titles})$"),
        "titled": re.compile(rf"(?:{titles})([{d['surnames']}][\u4e00-\u9fff]{{1,2}}?)(?=[，。、；：\s（(]|同志|在|未|没|对|的|是|被|和|与|等|也|曾|说|表示|指出|提出|反映|负责|分管|到|将|已|就|带|全|多|从|自|今|去|长|始|仍|还|又|只|仅|均|都|却|亲|一|两|几)"),
        "title_after": re.compile(rf"^(?:{titles})"),
        "anon": re.compile(r"[\u4e00-\u9fff](?:某某|某)(?=[^\u4e00-\u9fff]|[在被因等违于将是曾和与对从把向为的了])"),
        "quoted": re.compile(r"“([^”“\n]{2,30})”|《([^》\n]{2,40})》"),
    }


def cn_to_number(raw: str) -> float | None:
    """Chinese numerals as a value: 一百二十 → 120, 两 → 2, 二〇二五 → 2025 (digit by digit)."""
    raw = raw.replace("零", "〇") if re.fullmatch(r"[〇零一二三四五六七八九]{3,}", raw) else raw
    if re.fullmatch(r"[〇一二三四五六七八九]{2,}", raw):
        return float("".join(str(_CN_DIGIT[c]) for c in raw))
    try:
        import cn2an

        return float(cn2an.cn2an(raw.replace("两", "二"), "smart"))
    except Exception:  # noqa: BLE001 - not a numeral after all
        return None


def _unit(unit: str | None) -> str:
    unit = unit or ""
    return {"％": "%", "日": "天", "工作日": "个工作日"}.get(unit, unit)


def claims(text: str) -> list[Claim]:
    """Every claim in ``text`` (non-overlapping; dates before numbers, fixed phrases skipped)."""
    p = _patterns()
    phrases = [m.span() for m in p["phrase"].finditer(text)]
    taken: list[tuple[int, int]] = []
    out: list[Claim] = []

    def add(kind: str, a: int, b: int, value: tuple) -> None:
        if any(a < y and x < b for x, y in taken):
            return
        if kind == "number" and any(a < y and x < b for x, y in phrases):
            return
        taken.append((a, b))
        out.append(Claim(kind, text[a:b], a, b, value))

    for m in p["quoted"].finditer(text):
        inner = m.group(1) or m.group(2)
        if p["phrase"].fullmatch(inner):
            continue  # a fixed formulation in quotes (“两个维护”) is not a name to look up
        add("quoted", m.start(), m.end(), (_flat(inner),))
    for m in p["date_ar"].finditer(text):
        if m.group(1):
            add("date", m.start(), m.end(), (int(m.group(1)), _int(m.group(2)), _int(m.group(3))))
        elif _valid_md(m.group(4), m.group(5)):
            add("date", m.start(), m.end(), (None, int(m.group(4)), _int(m.group(5))))
    for m in p["date_cn"].finditer(text):
        if m.group(1):
            add("date", m.start(), m.end(), (int(cn_to_number(m.group(1)) or 0),
                                             _cn_int(m.group(2)), _cn_int(m.group(3))))
        elif m.group(4) and _valid_md(str(_cn_int(m.group(4))), str(_cn_int(m.group(5)) or "")):
            add("date", m.start(), m.end(), (None, _cn_int(m.group(4)), _cn_int(m.group(5))))
    for m in p["holiday"].finditer(text):
        add("date", m.start(), m.end(), (m.group(0),))
    for m in p["percent_cn"].finditer(text):
        v = cn_to_number(m.group(1))
        if v is not None:
            add("number", m.start(), m.end(), (v, "%"))
    for m in p["tenths"].finditer(text):
        add("number", m.start(), m.end(), (10.0 * _CN_DIGIT.get(m.group(1), 10), "%"))
    for m in p["number_ar"].finditer(text):
        add("number", m.start(), m.end(), (float(m.group(1)), _unit(m.group(2))))
    for m in p["number_cn"].finditer(text):
        v = cn_to_number(m.group(1))
        if v is not None:
            add("number", m.start(), m.end(), (v, _unit(m.group(3)), bool(m.group(2))))
    for m in p["approx"].finditer(text):
        add("number", m.start(), m.end(), (m.group(0),))
    for a, b, value in _bodies(text):
        add("body", a, b, value)
    for a, b, name in _people(text):
        add("person", a, b, (name,))
    return sorted(out, key=lambda c: c.start)


def _int(raw: str | None) -> int | None:
    return int(raw) if raw else None


def _cn_int(raw: str | None) -> int | None:
    if not raw:
        return None
    v = cn_to_number(raw)
    return int(v) if v is not None else None


def _valid_md(month: str | None, day: str | None) -> bool:
    try:
        return 1 <= int(month or 0) <= 12 and (not day or 1 <= int(day) <= 31)
    except ValueError:
        return False


def _flat(text: str) -> str:
    return re.sub(r"[\s“”\"'《》、，,。·]", "", text)


def _bodies(text: str) -> list[tuple[int, int, tuple]]:
    """Bodies from the suffix list (县纪委, 市审计局…), then other offices named with a level (市农业农村局)."""
    out = []
    for m in _patterns()["body"].finditer(text):
        out.append((m.start(), m.end(), (m.group(1) or "", m.group(2))))
    for m in _patterns()["office"].finditer(text):
        if not any(a < m.end() and m.start() < b for a, b, _ in out):
            out.append((m.start(), m.end(), ("", m.group(0))))
    return out


def _people(text: str) -> list[tuple[int, int, str]]:
    """People named with a title or 同志 next to the name, and anonymised ones (X某某)."""
    p, d = _patterns(), _data()
    out = [(m.start(), m.end(), m.group(0)) for m in p["anon"].finditer(text)]
    out += [(m.start(1), m.end(1), m.group(1)) for m in p["titled"].finditer(text)]
    if not re.search(r"[\u4e00-\u9fff]{2,3}", text):
        return out
    import jieba.posseg as pseg

    _quiet_jieba()
    pos = 0
    for token in pseg.lcut(text):
        word, flag = token.word, token.flag
        start, pos = pos, pos + len(word)
        if flag != "nr" or not 2 <= len(word) <= 3 or word[0] not in d["surnames"]:
            continue
        before, after = text[max(0, start - 6):start], text[pos:pos + 4]
        if (p["title"].search(before) or p["title_after"].match(after)) \
                and not any(a < pos and start < b for a, b, _ in out):
            out.append((start, pos, word))
    return out


@lru_cache(maxsize=1)
def _quiet_jieba() -> None:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)


# ----------------------------------------------------------------------------------------- known side

@dataclass
class Known:
    """What the facts and cited sources support, normalised like the claims."""

    flat: str
    numbers: set[tuple[float, str]]
    values: set[float]
    dates: set[tuple]
    people: set[str]

    @classmethod
    def of(cls, text: str) -> Known:
        """Build the known side from the facts' text (and the cited spans)."""
        cs = claims(text)
        numbers = {(c.value[0], c.value[1]) for c in cs if c.kind == "number" and len(c.value) >= 2}
        dates = {c.value for c in cs if c.kind == "date"}
        people = {c.value[0] for c in cs if c.kind == "person"}
        return cls(flat=_flat(text), numbers=numbers, values={v for v, _ in numbers}, dates=dates, people=people)

    def supports(self, claim: Claim) -> bool:
        """Is this claim backed by the known material?"""
        if claim.kind == "quoted":
            return claim.value[0] in self.flat or _flat(claim.text) in self.flat
        if claim.kind == "body":
            level, body = claim.value
            short = re.sub(r"委$", "", level)
            return any(x in self.flat for x in {f"{level}{body}", f"{short}{body}", f"{short}委{body}"}) \
                or (not level and body in self.flat)
        if claim.kind == "person":
            return claim.value[0] in self.flat or claim.value[0] in self.people
        if claim.kind == "date":
            return self._date(claim.value) or _flat(claim.text) in self.flat
        return self._number(claim)

    def _date(self, value: tuple) -> bool:
        if len(value) == 1:
            return value[0] in self.flat
        y, m, d = value
        for ky, km, kd in (v for v in self.dates if len(v) == 3):
            if (y is None or ky is None or y == ky) and (m is None or m == km) and (d is None or d == kd):
                if y is not None and ky is None and m is not None:
                    continue  # a month known without its year does not back a dated claim
                return True
        return y is not None and m is None and d is None and any(v[0] == y for v in self.dates if len(v) == 3)

    def _number(self, claim: Claim) -> bool:
        if len(claim.value) == 1:  # 半数, 多数…: only when written so in the facts
            return _flat(claim.text) in self.flat
        value, unit = claim.value[0], claim.value[1]
        if (value, unit) in self.numbers:
            return True
        if not unit or unit in ("个", "名", "人", "位"):
            return value in self.values and _near_unit(unit, {u for v, u in self.numbers if v == value})
        return False


def _near_unit(unit: str, known_units: set[str]) -> bool:
    people = {"名", "人", "位", "个", ""}
    return not unit or unit in known_units or (unit in people and bool(known_units & people))


# ----------------------------------------------------------------------------------------- checking

FACT_STATEMENT = re.compile(r"已|曾|此前|截至|目前|(?<!为)了(?=[，。；、]|$)|得到了|取得|发现了|进行了|受到")
PROPOSAL_DATE = re.compile(r"^(?:底)?(?:前|起|以前|之前|以内|内|开始)")


def unsupported(text: str, known: Known | str, *, statements_only: bool = False) -> list[Claim]:
    """The claims of ``text`` that ``known`` does not support. ``statements_only`` (措施): only claims
    inside sentences that state a fact (a result claimed, an event), not deadlines, owners and targets."""
    known = Known.of(known) if isinstance(known, str) else known
    out = []
    for claim in claims(text):
        if statements_only and (not _in_statement(text, claim) or
                                (claim.kind == "date" and PROPOSAL_DATE.match(text[claim.end:claim.end + 3]))):
            continue
        if not known.supports(claim):
            out.append(claim)
    return out


def _in_statement(text: str, claim: Claim) -> bool:
    a = max(text.rfind(ch, 0, claim.start) for ch in "。；\n，") + 1
    ends = [i for i in (text.find(ch, claim.end) for ch in "。；\n，") if i != -1]
    b = min(ends) if ends else len(text)
    return bool(FACT_STATEMENT.search(text[a:b]))
