"""Rendering that knows the genre: title, opening, the extra parts, and every item's text.

Built from the frame's data (meeting name, theme, aspect labels) without doubling words; the voice follows
the material type (班子 / 我 / 支部). The typed items become :class:`~rag.draft.schemas.DraftItem`s whose
``text`` the renderer numbers (一是…, 1.).
"""

from __future__ import annotations

import re

from rag.draft import slots
from rag.draft.bank import cause_links, lesson_examples, lesson_themes
from rag.draft.facts import Fact, UnitFacts
from rag.draft.items import Cause, Measure, Problem
from rag.draft.problems import has_number, instance_of, voice_ok
from rag.draft.run import Run
from rag.draft.schemas import Draft, DraftItem, DraftPart
from rag.draft.text import clause, contained, grams, head_clause, sentence
from rag.frames import Frame
from rag.genre import CHOOSE, GAP, PART_TITLES, cn_number, hanzi, invented_behaviour, matches

GENERIC_HEADING = "定性为通用表述，请结合实际修改"
GENERIC_REASON = "原因为通用表述，请结合实际修改"
VERB_LED = re.compile(r"^(?:深入|学习|对照|巩固|围绕|全面|认真|坚持|聚焦|以|按照|结合|紧扣|贯彻)")


def meeting_name(frame: Frame) -> str:
    """The meeting as the title and opening name it (a 专题 meeting keeps its own name)."""
    if frame.special:
        return re.sub(r"（[^）]*）$", "", frame.name).strip() or frame.meeting
    return frame.meeting


def title_of(facts: UnitFacts, frame: Frame) -> str:
    """“{单位}{年度}{会议}对照检查材料” (个人: with the writer's post; 专题: the meeting's own name)."""
    meeting = meeting_name(frame)
    when = "" if re.match(r"\d{4}年", meeting) else f"{facts.year}年度"
    who = facts.unit
    if facts.meeting_type == "个人" and facts.writer:
        who = joined(facts.unit, facts.writer.role) if facts.writer.role not in facts.unit else facts.writer.role
        who += facts.writer.name or ""
    kind = "个人对照检查材料" if facts.meeting_type == "个人" else "对照检查材料"
    return f"{who}{when}{meeting}{kind}"


def joined(unit: str, role: str) -> str:
    """Unit and post without saying twice what ends the one and begins the other (…新桥社区党支部 +
    社区党支部书记 → …新桥社区党支部书记; round-5 blind review)."""
    k = next((k for k in range(min(len(unit), len(role)), 1, -1) if unit.endswith(role[:k])), 0)
    return unit + role[k:]


def theme_clause(frame: Frame) -> str:
    """The theme as a clause of the opening: as written when it reads as one, else “围绕“…”的主题”."""
    theme = frame.theme.strip().rstrip("。")
    if not theme:
        return ""
    if VERB_LED.match(theme) or "，" in theme:
        return theme
    return f"围绕“{theme}”的主题"


def aspects_clause(frame: Frame) -> str:
    """“重点从A、B……N个方面查摆问题、剖析根源”, naming every aspect."""
    labels = [a.label for a in frame.aspects]
    count = "两" if len(labels) == 2 else cn_number(len(labels))
    if any("，" in x for x in labels):  # aspects written as clauses (a notice's “对照…，查找…”): quoted whole
        return f"重点围绕{''.join(f'“{x}”' for x in labels)}{count}个方面查摆问题、剖析根源"
    sep = "，" if any("、" in x for x in labels) else "、"
    return f"重点从{sep.join(labels)}{count}个方面查摆问题、剖析根源"


def write_opening(facts: UnitFacts, frame: Frame) -> DraftItem:
    """The opening paragraph: the notice, the theme, the preparation figures (gaps where missing), all aspects."""
    p = facts.preparation
    fig = [
        f"开展学习研讨{p.study_sessions}次" if p.study_sessions is not None else GAP.format(what="学习研讨次数"),
        f"谈心谈话{p.talks}人次" if p.talks is not None else GAP.format(what="谈心谈话人次"),
        f"征求意见建议{p.opinions}条" if p.opinions is not None else GAP.format(what="征求意见条数"),
    ]
    who = {"个人": "我", "支部": "支部"}.get(facts.meeting_type, "班子")
    meeting = meeting_name(frame)
    when = "" if re.match(r"\d{4}年", meeting) else f"{facts.year}年度"
    theme = theme_clause(frame)
    named = sum(a.label in theme for a in frame.aspects) == len(frame.aspects)  # the theme already lists them
    parts = [f"按照{when}{meeting}的有关要求", f"{who}{theme}" if theme else who, f"会前{'、'.join(fig)}",
             "认真查摆问题、剖析根源" if named else aspects_clause(frame)]
    return DraftItem(id="O1", text="，".join(parts) + "。现将对照检查情况报告如下。")


def rectification_title(frame: Frame) -> str:
    kind = "民主生活会" if "民主" in frame.meeting else "组织生活会"
    return PART_TITLES["rectification"].replace("民主生活会", kind)


# ----------------------------------------------------------------------------------------- items

def problem_items(run: Run, problems: dict[str, list[Problem]], gaps: dict[str, list[str]]) -> list[DraftItem]:
    """Problem items in frame order; an aspect no fact fits is a gap that says which facts would fill it."""
    out: list[DraftItem] = []
    for aspect in run.frame.aspects:
        items = problems.get(aspect.name) or []
        for p in items:
            out.append(DraftItem(id=p.id, text=f"{clause(p.heading)}。{p.instance}", summary=p.heading,
                                 heading=p.heading, aspect=aspect.name, fact_ids=p.fact_ids, root=p.root,
                                 to_confirm=[GENERIC_HEADING] if p.heading_from == "bank" else []))
        if not items:
            out.append(DraftItem(id=f"G{len(out) + 1}", aspect=aspect.name, gap=True,
                                 text=GAP.format(what=gap_hint(run, aspect.name, gaps.get(aspect.name, [])))))
    return out


def gap_hint(run: Run, aspect: str, categories: list[str]) -> str:
    """What would fill an empty aspect: its description and the fact categories that belong there."""
    label = next((a.label for a in run.frame.aspects if a.name == aspect), aspect)
    kinds = f"，如{'、'.join(categories[:3])}方面的事实" if categories else ""
    who = "、本人角色" if run.voice == "个人" else ""
    return f"{label}方面的具体事例（时间、事件、数字{who}{kinds}）"


def cause_link(names: list[str], n: int) -> str:
    """The closing that ties a cause to the problems it explains, the ``n``-th of cause_links.yaml's forms
    (turn by turn, so six causes do not all end “根子就在这里”)."""
    if not names:
        return ""
    data = cause_links()
    forms = data["many"] if len(names) > 1 else data["one"]
    return forms[n % len(forms)].format(names="、".join(names), name=names[0])


def cause_items(causes: list[Cause], problems: list[Problem]) -> list[DraftItem]:
    """“一是{root title}。{reason}。{A}、{B}等问题，根子都在这里。” (the closing turns: cause_link) (while candidates wait: the nearest one,
    marked for the user to confirm)."""
    heads = {p.id: head_clause(p.heading) for p in problems}
    out = []
    for c in causes:
        names = [heads[x] for x in c.problem_ids if x in heads]  # every problem it explains (none left unclaimed)
        link = cause_link(names, len(out))
        if c.reason:
            text = f"{clause(c.title)}。{sentence(c.reason)}{link}"
        elif c.candidates:  # the nearest candidate in place, marked for the user to confirm or change
            mark = CHOOSE.format(what="上句是候选原因，请确认、换用其他候选或自己改写")
            text = f"{clause(c.title)}。{sentence(c.candidates[0])}{mark}{link}"
        else:
            text = f"{clause(c.title)}。{CHOOSE.format(what='这些问题在思想上的根子（可从候选原因中选择，或自己写）')}{link}"
        out.append(DraftItem(id=c.id, text=text, heading=c.title, root=c.root, problem_ids=c.problem_ids,
                             gap=not c.reason, candidates=list(c.candidates),
                             to_confirm=[GENERIC_REASON] if c.reason_from in ("template", "stock") else []))
    return out


def measure_items(run: Run, measures: list[Measure]) -> list[DraftItem]:
    """“{action}，{target}。由{owner}，{deadline}完成。” (个人: no owner clause)."""
    out = []
    for m in measures:
        body = "，".join(x for x in (clause(m.action), clause(m.target)) if x)
        ends = m.deadline if m.deadline.endswith("坚持") else f"{m.deadline}完成"
        if run.voice == "个人" or not m.owner:
            text = f"{body}，{ends}。"
        else:
            text = f"{body}。由{m.owner}，{ends}。"
        out.append(DraftItem(id=m.id, text=text, problem_ids=m.problem_ids,
                             to_confirm=[x for x in (m.deadline, m.owner if run.voice != "个人" else "", m.target) if x]))
    return out


def rectification_items(run: Run, fact_ids: list[str], measures: list[Measure]) -> list[DraftItem]:
    """Last year's rectification in the writer's voice; unfinished items point to the measure taking them up."""
    out = []
    for i, fid in enumerate(fact_ids, start=1):
        fact = run.fact(fid)
        if fact is None:
            continue
        text = instance_of(fact, run.voice)
        follow = next((m for m in measures if m.fact_id == fid), None)
        if follow is not None:
            text += "未完成的事项已列入本次整改措施，继续推进。"
        out.append(DraftItem(id=f"R{i}", text=text, fact_ids=[fid]))
    return out


def case_items(run: Run, fact_ids: list[str], problems: list[Problem]) -> list[DraftItem]:
    """The case in brief, then the lesson for this team (model, checked; a gap when it fails)."""
    out = []
    facts = [f for f in (run.fact(x) for x in fact_ids) if f is not None]
    for i, fact in enumerate(facts, start=1):
        out.append(DraftItem(id=f"K{i}", text=instance_of(fact, run.voice), fact_ids=[fact.id]))
    if not facts:
        return out
    lesson = write_lesson(run, facts, problems) or linked_lesson(run, facts, problems)
    k = len(out) + 1
    if lesson:
        out.append(DraftItem(id=f"K{k}", text=sentence(lesson)))
    else:
        out.append(DraftItem(id=f"K{k}", gap=True, text=GAP.format(what=f"对照案例，{run.who}查找出的自身差距和警示")))
    return out


def themes_of(text: str) -> list[str]:
    """The lessons.yaml themes (吃喝和人情往来, 工程项目的建设和验收…) whose words ``text`` names, in file order."""
    return [t["label"] for t in lesson_themes() if re.search(t["words"], text)]


def related_problems(case: str, problems: list[Problem], k: int = 2) -> list[Problem]:
    """The problems that share a theme with the case (most shared themes first, then shared wording); a
    problem on another matter is no analogue, however close its words (round-5 blind review: a 涉案财物
    ledger pulled into a case of tipping off a gambling den)."""
    mine = set(themes_of(case))
    def score(p: Problem) -> tuple:
        return (len(mine & set(themes_of(p.heading + p.instance))), len(grams(case) & grams(p.heading + p.instance)))
    return [p for p in sorted(problems, key=score, reverse=True) if score(p)[0]][:k]


def lesson_problem(text: str, related: list[Problem], case: str, voice: str) -> str | None:
    if not 15 <= len(hanzi(text)) <= 110:
        return "长度不合适"
    if has_number(text) or matches("claimed", text) or matches("blame_others", text) or not voice_ok(text, voice):
        return "写了新的事实或口吻不对"
    if contained(text, case) >= 0.7:
        return "只是复述案例"
    if matches("bribery", case) and "八项规定" in text:
        return "把收受财物说成了违反八项规定（这是违反廉洁纪律、涉嫌受贿）"
    if not re.search(r"我|班子|支部|支委会|本单位|我们", text):
        return "没有联系自身，只是旁观者的评论"
    if matches("belittle", text):
        return "把违纪违规的事说轻了（小问题、小事小节）"
    if invented_behaviour(text, case + "".join(p.heading + p.instance for p in related)):
        return "写了事实里没有的行为"
    return None


def linked_lesson(run: Run, facts: list[Fact], problems: list[Problem]) -> str | None:
    """When the model's lesson fails: where the case and this team's own related problems meet (the shared
    theme, named), in plain words with no new facts; None when no problem shares a theme with the case."""
    case = "；".join(f.text for f in facts)
    related = related_problems(case, problems)
    if not related:
        return None
    shared = [t for t in themes_of(case) if any(t in themes_of(p.heading + p.instance) for p in related)]
    names = "、".join(head_clause(p.heading) for p in related)  # no quotes: the guard
    # takes quoted words for words quoted from the facts
    return (f"对照这一案例，案例中的问题出在{shared[0]}上，{run.who}查摆出的{names}问题同样出在这个环节，"
            f"必须把案例当镜子，从这些环节查起，把监督和制度的口子扎紧")


def write_lesson(run: Run, facts: list[Fact], problems: list[Problem]) -> str | None:
    """对照案例的警示, linked to this team's own related problems."""
    case = "；".join(f.text for f in facts)
    related = related_problems(case, problems)
    bank = lesson_examples("个人" if run.voice == "个人" else "班子")
    if run.voice == "支部":
        bank = [{**e, "lesson": e["lesson"].replace("班子", "支部")} for e in bank]
    shots = [({"case": e["case"], "problems": e["problems"]}, e["lesson"]) for e in bank[:run.profile.shots]]
    retry = [({"case": e["case"], "problems": e["problems"]}, e["lesson"])
             for e in (bank[run.profile.shots:] + bank)[:run.profile.shots]]
    if not related:
        return None
    return slots.ask(run, "lesson", shots, {"case": case, "problems": [p.heading for p in related]},
                     max_tokens=run.profile.reason_tokens + 32, retry_shots=retry,
                     check=lambda t: lesson_problem(t, related, case, run.voice))


def assemble(run: Run, problems: dict[str, list[Problem]], causes: list[Cause], measures: list[Measure],
             plan_gaps: dict[str, list[str]], rectification: list[str], case: list[str],
             case_text: list[DraftItem] | None = None) -> Draft:
    """The whole draft in the order the frame expects (extra parts only when there are facts or the frame
    requires them)."""
    f, frame = run.facts, run.frame
    flat = [p for a in frame.aspects for p in problems.get(a.name, [])]
    parts = [DraftPart(kind="opening", title="", items=[write_opening(f, frame)])]
    if rectification or "上年度整改" in frame.required_sections:
        items = rectification_items(run, rectification, measures) or [DraftItem(
            id="R1", gap=True, text=GAP.format(what="上年度整改措施的完成情况（已完成、正在推进、未完成及原因）"))]
        parts.append(DraftPart(kind="rectification", title=rectification_title(frame), items=items))
    parts.append(DraftPart(kind="problems", title=PART_TITLES["problems"], items=problem_items(run, problems, plan_gaps)))
    if case or "反面典型案例剖析" in frame.required_sections:
        items = case_text if case_text is not None else [DraftItem(
            id="K1", gap=True, text=GAP.format(what="本年度选取的反面典型案例"))]
        parts.append(DraftPart(kind="case", title=PART_TITLES["case"], items=items or [DraftItem(
            id="K1", gap=True, text=GAP.format(what="本年度选取的反面典型案例"))]))
    parts.append(DraftPart(kind="causes", title=PART_TITLES["causes"], items=cause_items(causes, flat)
                           or [DraftItem(id="C1", gap=True, text=GAP.format(what="结合上述问题，从思想根源上剖析原因"))]))
    parts.append(DraftPart(kind="measures", title=PART_TITLES["measures"], items=measure_items(run, measures)
                           or [DraftItem(id="M1", gap=True, text=GAP.format(what="针对上述问题的整改措施"))]))
    return Draft(unit=f.unit, meeting_type=f.meeting_type, year=f.year, frame_id=frame.id, frame_name=frame.name,
                 title=title_of(f, frame), parts=parts, citations=run.citations, guard_events=run.guard_events)
