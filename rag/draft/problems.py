"""Problems in the genre's form: “一是{定性}。{事例}”.

* The 定性 is one small model call per fact, with the worked examples nearest to that fact; the answer is
  checked with the genre predicates (names a shortcoming, no numbers, not a copy of the fact, the right
  voice, not the same as another problem's). A second try gets other examples; after that the bank's
  定性 for the fact's category is used (and counted).
* The 事例 is the fact in the writer's voice: colleagues' names left out, others' complaints kept as the
  evidence at the end (“……，基层党员反映了这一问题”). With the large profile the model retells it and
  the guard checks the retelling.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rag.draft import slots
from rag.draft.bank import Nearest, distortion_in, heading_examples, heading_nearest, roots, serious_for
from rag.draft.facts import Fact
from rag.draft.items import Plan, Problem
from rag.draft.run import Run
from rag.draft.text import contained, grams, longest_common, near_same, office_in, sentence
from rag.genre import find, hanzi, matches

NUMBERS = re.compile(r"\d|(?<!第)[一二两三四五六七八九十百千]+(?:次|项|个|人|名|件|条|处|起|轮|场|户|家|天|年)(?![次个件])")
IDIOMS = re.compile(r"一两|两三|三五|一件一件|一个个|一次次|第一次|一人一|八项规定|[两三四五六]个(?:确立|维护|意识|自信|带头|务必|全面|对照|方面)"
                    r"|三会一课|三重一大|一岗双责|两学一做|三严三实|十四五|十五五|[十二]+届|一把手|一线|一些|一般|统一|逐一|一体|"
                    r"一贯|一起|一致|一律|一旦")


def never_object(span: tuple[int, int], fact: str) -> set[str]:
    """The bigrams of what the fact says was never done (“全年没有到所在支部讲党课” → 讲党、党课…)."""
    start, end = span
    what = re.split(r"[，。；、]", fact[end:], maxsplit=1)[0][:12]
    if len(hanzi(what)) < 3:  # “计划讲党课2次，实际1次也没有讲”: the object is in the clause before
        what = "".join(re.split(r"[，。；、]", fact[:start])[-2:])[-14:] + what
    return grams(what) - {"所在", "支部", "全年", "一次", "工作", "实际", "计划"}


TEAM_WORDS = {"班子": [("局领导", "班子成员"), ("院领导", "班子成员"), ("校领导", "班子成员"),
                      ("中心领导", "班子成员"), ("公司领导", "班子成员")]}


def heading_problem(text: str, fact: str, voice: str, taken: list[str]) -> str | None:
    """Why ``text`` is not an acceptable 定性 for ``fact`` (None when it is)."""
    n = len(hanzi(text))
    if not 5 <= n <= 24:
        return "长度不合适"
    if has_number(text):
        return "含有数字"
    if not matches("shortcoming", text) or matches("inverted_dingxing", text):
        return "没有点明不足"
    if contained(text, fact) >= 0.8:
        return "照抄了事实"
    if matches("claimed", text) or matches("blame_others", text) or matches("requirement", text) \
            or matches("other_subject", text) or matches("complaint", text):
        return "写成了成绩、要求、别人的反映或别人的问题"
    if matches("soft_verdict", text):
        return "用了弱化的说法（有待提高、存在……现象）"
    if matches("softened", text) and any(never_object(span, fact) & grams(text) for span in find("never_done", fact)):
        return "把“没有做”说成了“做得不够”"
    if "整改" in text and "整改" not in fact:
        return "说了事实里没有的整改情况"
    if matches("double_negative", text):
        return "否定叠用（未……还不够），语句不通"
    if (grave := serious_for(fact)) is not None and not grave.heading.search(text):
        return f"没有点明事实里最要紧的问题（{grave.id}）"
    if any(longest_common(text, r.title) >= 7 for r in roots()):
        return "把原因（思想根子）写成了问题的定性"
    if (bent := distortion_in(text, fact)) is not None:
        return bent.message
    if not voice_ok(text, voice):
        return "口吻不对"
    if any(near_same(text, t) for t in taken):
        return "与前面的定性重复"
    return None


def has_number(text: str) -> bool:
    """A number or a count (3次, 两项) — not the idioms that merely contain numerals (一两次, 一件一件)."""
    return bool(NUMBERS.search(IDIOMS.sub("", text)))


def voice_ok(text: str, voice: str) -> bool:
    """The text speaks as the material type should: no 我 in a 班子/支部 material, no 班子 in a 个人 one."""
    if voice == "个人":
        return "班子" not in text and "我们" not in text
    if voice == "支部" and re.search(r"班子成员|领导班子|分管工作", text):
        return False
    return not re.search(r"(?<!自)我(?!们|局|院|校|所|县|市|区|镇|乡|厂|司|部|委|办|中心|单位|支部)|本人", text)


def instance_of(fact: Fact, voice: str) -> str:
    """The fact told as the problem's 事例 (see the module docstring); code changes only the safe things."""
    text = fact.text.strip()
    for name in sorted(fact.people, key=len, reverse=True):
        text = text.replace(name, "")
    for old, new in TEAM_WORDS.get(voice, []):
        text = text.replace(old, new)
    text = _complaint_last(text)
    return sentence(text)


def _complaint_last(text: str) -> str:
    """“群众反映，X” → “X，群众反映了这一问题” (official findings keep their lead)."""
    spans = find("complaint", text)
    if not spans or spans[0][0] != 0:
        return text
    end = spans[0][1]
    lead = text[:end].rstrip("，,：: ")
    rest = text[end:].strip()
    if matches("official_finder", lead) or len(hanzi(rest)) < 6:
        return text
    rest = rest.rstrip("。；; ")
    return f"{rest}，{lead}了这一问题"


def write_heading(run: Run, fact: Fact, nearest: Nearest, taken: list[str]) -> tuple[str, str]:
    """(定性, where it came from: model / retry / bank) for one fact."""
    examples, fallback = heading_examples()
    k = run.profile.shots
    vector = run.vector(fact.text)
    first = nearest.pick(fact.text, fact.category, k=k, vector=vector) if vector is not None else list(range(k))
    second = nearest.pick(fact.text, fact.category, k=k, skip=k, vector=vector) if vector is not None \
        else list(range(k, 2 * k))
    shots = [({"fact": examples[i].fact}, examples[i].heading) for i in first]
    retry = [({"fact": examples[i].fact}, examples[i].heading) for i in second]
    told = instance_of(fact, run.voice)
    answer = slots.ask(run, "heading", shots, {"fact": told}, max_tokens=run.profile.heading_tokens,
                       check=lambda t: heading_problem(t, fact.text, run.voice, taken), retry_shots=retry)
    if answer is not None:
        tries = [a for a in run.slots.attempts if a.step == "heading"]
        return answer, "model" if len(tries) < 2 or tries[-2].rejected is None else "retry"
    grave = serious_for(fact.text)
    bank = grave.fallback.get(run.voice, grave.fallback[""]) if grave is not None else \
        fallback.get(fact.category) or fallback.get("其他", "工作落实还不够到位")
    if any(near_same(bank, t) for t in taken):
        bank = f"{bank.rstrip('到位')}，这方面还有差距"
    return bank, "bank"


def write_problems(run: Run, plan: Plan,
                   on_aspect: Callable[[str, list[Problem]], None] | None = None) -> dict[str, list[Problem]]:
    """Problems per aspect (empty list for a gap), one per fact, each with its 定性 and 事例;
    ``on_aspect(name, problems)`` is called as each aspect is done."""
    nearest = heading_nearest(run.embedder) if run.embedder is not None else _plain_nearest()
    out: dict[str, list[Problem]] = {}
    taken: list[str] = []
    n = 0
    for aspect in run.frame.aspects:
        run.emit("status", f"正在撰写问题：{aspect.name}")
        items = []
        for fid in plan.by_aspect.get(aspect.name, []):
            fact = run.fact(fid)
            if fact is None:
                continue
            heading, source = write_heading(run, fact, nearest, taken)
            taken.append(heading)
            n += 1
            items.append(Problem(id=f"P{n}", aspect=aspect.name, heading=heading, heading_from=source,
                                 instance=retell(run, fact), fact_ids=[fid]))
        out[aspect.name] = items
        if on_aspect is not None:
            on_aspect(aspect.name, items)
    return out


def retell(run: Run, fact: Fact) -> str:
    """The 事例: code's safe retelling, or (large profile) the model's, when it adds nothing."""
    told = own_part(instance_of(fact, run.voice), run)
    if not run.profile.retell:
        return told
    answer = slots.ask(run, "retell", [], {"fact": told}, max_tokens=200,
                       check=lambda t: None if contained(t, fact.text) >= 0.6 and voice_ok(t, run.voice) else "改写走样")
    if not answer:
        return told
    for name in sorted(fact.people, key=len, reverse=True):
        answer = answer.replace(name, "")
    return sentence(answer)


def own_part(told: str, run: Run) -> str:
    """In a 个人 material, a fact about an office the writer is in charge of (the office's name in the
    writer's role) says so: “药剂科有2个品种…” → “我分管的药剂科有2个品种…” (round-5 reviewer: a unit's
    problem in place of the writer's own). Other texts stay as they are."""
    role = run.facts.writer.role if run.voice == "个人" and run.facts.writer else ""
    if not role or re.search(r"我|本人|自己", told):
        return told
    office = office_in(told)
    stem = re.sub(r"(?:科|股|室|服务中心|中心)$", "", office)
    if len(stem) < 2 or stem not in role:
        return told
    return told.replace(office, f"我分管的{office}", 1)


class _PlainNearest(Nearest):
    """Without an embedder: examples of the fact's category first, in file order."""

    def __init__(self) -> None:  # noqa: D107 - no embeddings
        examples, _ = heading_examples()
        self.categories = [e.category for e in examples]
        self.matrix = []

    def pick(self, text: str, category: str = "", k: int = 2, skip: int = 0, vector=None) -> list[int]:
        order = sorted(range(len(self.categories)), key=lambda i: self.categories[i] != category)
        return order[skip:skip + k]


def _plain_nearest() -> Nearest:
    return _PlainNearest()
