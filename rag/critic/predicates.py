"""Named text predicates used by rules (``require`` / ``unless``): is this item anchored, dated, owned…

They are deliberately regex-based and documented here so a rule author can see what each one accepts.
"""

from __future__ import annotations

import re
from collections.abc import Callable

CN = "一二两三四五六七八九十百千万半几"
COUNT_WORDS = (
    "次|个|项|条|名|人|篇|份|场|批|天|周|家|户|件|处|起|轮|期|笔|元|万元|亿元|小时|分钟|人次|个月|年|所|村|"
    "座|台|套|本|节|课|堂|季度|遍|届|类|户次|公里|亩|吨|万|倍|成"
)

ANCHOR = re.compile(
    r"\d|[０-９]"
    rf"|[{CN}]+(?:{COUNT_WORDS})"
    r"|[上下]半年|季度|年初|年底|年中|年末|今年|去年|上年|前年|本年度|月份|当年|春节|国庆|汛期|节前|节后"
    r"|《[^》]+》|“[^”]{2,}”|\"[^\"]{2,}\""
    r"|例如|比如|譬如|如在|如对|如：|如:|如，|像在"
    r"|征求意见|巡察|审计|督导|督查|反馈|谈心谈话|群众反映|调研发现|检查发现|通报|信访|投诉|问卷"
    r"|考核(?:中|发现|反馈|排名|结果|得分)|(?:年度|绩效|综合|目标)考核|民主测评|测评(?:中|结果|得分)"
    r"|[\u4e00-\u9fff]{2,8}(?:项目|工程|专项行动|改造|平台|系统建设|示范区|试点)"
)
DEADLINE = re.compile(
    r"\d{4}\s*年\s*\d{1,2}\s*月|\d{1,2}\s*月(?:底|前|末|中旬|上旬|下旬|\d{1,2}日)|[上下]半年|年底前|年内|年底|年末|"
    r"季度|每月|每周|每年|每半年|每\s*[一二两三四五六\d]+\s*个?月|\d+\s*个?月内|\d+\s*(?:日|天|周)内|"
    r"[一二两三四五六七八九十]+个月内|会后\s*\d+|\d{4}\s*年(?:底|内|前|末)|前完成|之前完成|限期|截至|截止|"
    r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?(?:起|开始)|\d{4}\s*年度?[^，。；\n]{0,12}(?:会|节)前|"
    r"每学期|每学年|(?:春季|秋季|本|下)学期|学期(?:末|内|结束前)|学年内|寒假前|暑假前"
    r"|(?:^|[，,。；\s])\d{4}\s*年(?!度)(?=[\u4e00-\u9fff]{2})"
)
OWNER = re.compile(
    r"牵头|负责|责任人|责任部门|责任领导|责任单位|分管|书记|局长|主任|院长|校长|镇长|部长|经理|组长|班子成员|"
    r"各支部|党支部|党委|党组|办公室|组织部|纪检|监察|人事|财务科|科室|股室|处室|各部门|本人|我"
)
RESULT = re.compile(
    r"\d|[一二两三四五六七八九十百]+(?:次|项|条|篇|份|场|个|名|人次|期|轮|家|户)"
    r"|台账|清单|制度|办法|方案|报告|考核|销号|通报|记录|覆盖率|达到|不少于|不低于|全覆盖|以上|规程|细则|机制|档案"
    r"|以内|以下|控制在|压减到|压减至|降至|降到|降低到|提高到|提升到|提高至|不超过|不高于|纪要|汇编"
)
SELF_OR_DUTY = re.compile(r"我|本人|自己|自身|分管|负责|(?<!担当)(?<![有无不])作为|主持|主管|(?:我|所)联系|联系的|联系点|包联")
DATES = re.compile(r"\d{4}\s*年|\d{1,2}\s*月(?:底|末|前|中旬|上旬|下旬)?|\d{1,2}\s*日|第[一二三四]季度")
FIRST_PERSON = re.compile(r"我(?!们)|本人")
CONCRETE = re.compile(ANCHOR.pattern + "|" + DEADLINE.pattern + r"|牵头|责任人")
# Numbered political formulations (“四个意识”, 中央八项规定) name no concrete instance, action or count.
SLOGAN = re.compile(
    r"[“\"]?(?:两个确立|两个确定|两个维护|四个意识|四种意识|四个自信|四个全面|两个务必|三个务必|四个带头|五个带头|"
    r"四个对照|三严三实|四风|中央八项规定(?:精神)?|八项规定(?:精神)?)[”\"]?"
)
# Named sources anchor a problem, but make no measure concrete (“对群众反映的问题，今后一定改正”).
SOURCES_ONLY = re.compile(r"群众反映|征求意见|谈心谈话|反馈|通报")


def anchored(text: str) -> bool:
    """A concrete instance: a number or count, a date, a named event/project/document, 如…, a named source."""
    body = re.sub(r"^[一二三四五六七八九十]是", "", text.strip())
    body = re.sub(r"^[（(]?\d{1,2}[)）.．、]", "", body)
    return bool(ANCHOR.search(SLOGAN.sub("", body)))


def concrete(text: str) -> bool:
    """Something checkable next to a resolution: a number, a date or deadline, an owner, a named action."""
    body = SOURCES_ONLY.sub("", SLOGAN.sub("", _without_marker(text)))
    return bool(CONCRETE.search(body))


def _without_marker(text: str) -> str:
    text = re.sub(r"^\s*[一二三四五六七八九十]是", "", text)
    return re.sub(r"^\s*[（(]?\d{1,2}[)）.．、]", "", text)


def _dingxing(text: str) -> bool:
    from rag.genre import dingxing

    return dingxing(text)


PREDICATES: dict[str, Callable[[str], bool]] = {
    "dingxing": _dingxing,
    "anchor": anchored,
    "deadline": lambda t: bool(DEADLINE.search(t)),
    "owner": lambda t: bool(OWNER.search(t)),
    "result": lambda t: bool(RESULT.search(DATES.sub("", _without_marker(t)))),
    "self_or_duty": lambda t: bool(SELF_OR_DUTY.search(t)),
    "first_person": lambda t: bool(FIRST_PERSON.search(t)),
    "concrete": concrete,
}


def check(name: str, text: str) -> bool:
    """Evaluate a named predicate; unknown names raise KeyError (caught by the rule meta-test)."""
    return PREDICATES[name](text)


SENTENCE = re.compile(r"[^。！？；\n]+[。！？；]?")


def sentence_around(text: str, start: int, end: int) -> tuple[int, int]:
    """The sentence containing [start, end) in ``text``."""
    for m in SENTENCE.finditer(text):
        if m.start() <= start < m.end():
            return m.start(), max(m.end(), end)
    return start, end
