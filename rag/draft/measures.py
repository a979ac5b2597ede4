"""Measures that fix the problem: one per problem (and one for last year's unfinished rectification).

* The action is one small model call with the worked actions nearest to the problem; it must work on the
  problem's own object (share content with its fact), claim no result, carry no date or number, and not
  repeat another measure. Otherwise a gap names the problem (last year's unfinished items get a plain
  action: finish them by dates).
* The checkable target is derived in code from the fact's numbers (``knowledge_base/genre/targets.yaml``:
  the remaining quantity, full attendance, the time limit, the frequency restored…).
* The deadline comes from the meeting date and the size of the task (``measures.yaml``), or from a date the
  fact itself sets; the owner follows the material type and the fact's category. Both are proposals the
  user confirms.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

from rag.draft import slots
from rag.draft.bank import (
    action_examples,
    action_nearest,
    distortions,
    measure_data,
    serious_for,
    target_rules,
)
from rag.draft.facts import Fact
from rag.draft.items import Measure, Problem
from rag.draft.problems import voice_ok
from rag.draft.run import Run
from rag.draft.text import clause, contained, dropped_char, grams, office_in, similarity, word_start
from rag.genre import GAP, hanzi, matches

MAX_MEASURES = 12
ACTION_HINT = "动词开头（如完善、规范、推动、补齐、修订），直接说对事实里的那件事怎么改，不写时间，不写别的单位"
FACT_NUMBER = re.compile(r"\d+(?:\.\d+)?\s*[\u4e00-\u9fff%]")
FACT_DATE = re.compile(r"(?:推迟到|推迟至|延期到|延期至|调整到|调整为|计划于?|预计于?|要求于?|拟于)(\d{4})年(?:(\d{1,2})月|(汛前|上半年|年底|底))")
COMMON = {"问题", "工作", "加强", "不够", "落实", "一步", "进一", "整改", "建立", "制度", "开展", "推进", "完善",
          "提高", "情况", "方面", "要求", "责任", "全面", "深入", "认真", "切实", "坚持", "存在", "没有", "到位", "完成",
          "年度", "班子", "本人", "支部", "我们", "及时", "主动", "规范", "严格"}
ACTIVITY = re.compile(r"(?:调研|谈话|谈心|党课|宣讲|学习|研讨|会议|活动|走访|检查|培训|讲座|督导|巡查|接访|家访|主题党日)$")
"""What a frequency target may name: an obj/mid ending in an activity (else the target names none)."""
CN_NUM = {"一": 1, "两": 2, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9, "十": 10}


def object_shared(action: str, fact: str, heading: str = "") -> bool:
    """Does the action work on the problem's own object (content bigrams shared with its fact or 定性)?"""
    return bool((grams(action) - COMMON) & (grams(fact) | grams(heading)))


def action_problem(text: str, fact: str, heading: str, voice: str, taken: list[str]) -> str | None:
    """Why ``text`` is not an acceptable action for this problem (None when it is)."""
    n = len(hanzi(text))
    if not 6 <= n <= 60:
        return "长度不合适"
    if matches("action_date", text):
        return "写了时限（时限由系统按会议日期提出）"
    if matches("claimed", text):
        return "写成了已经取得的结果"
    if matches("advisory", text):
        return "写成了建议口吻（应……），要写自己要做的事"
    if matches("blame_others", text) or matches("voice_third", text) or not voice_ok(text, voice) \
            or matches("other_actor", text):
        return "主语不是本班子、本支部或本人"
    if not object_shared(text, fact, heading):
        return "没有针对问题的具体对象"
    if (bent := next((d for d in distortions() if d.measures and d.bends(text, fact)), None)) is not None:
        return bent.message.replace("问题的定性", "整改措施")
    if (grave := serious_for(fact)) is not None and grave.action is not None and not grave.action.search(text):
        return f"没有针对事实里最要紧的问题（{grave.id}：要写严禁、纠正、如实报送之类的做法）"
    if tried := repeats_tried(text, fact):
        return f"重复了事实里已经证明不够的做法（只{tried}），要加码或换办法"
    if misses_omissions(text, fact):
        return f"没有针对事实里没做的事（{'、'.join(omissions(fact))}）"
    if cut := dropped_char(text, fact):
        return f"漏了字（“{cut}”）"
    if len(hanzi(text)) >= 15 and contained(text, fact) >= 0.8:
        return "照抄了事实，没有说怎么改"
    if any(n in FACT_NUMBER.findall(fact) for n in FACT_NUMBER.findall(text)):
        return "照抄了事实里的数字（量化目标由系统从事实推出）"
    if matches("empty_action", text) and len(hanzi(text)) < 14:
        return "只有表态"
    if any(similarity(text, t) >= 0.6 for t in taken):
        return "与前面的措施重复"
    if matches("too_many", fact) and matches("more_of", text):
        return "方向反了：问题是太多、重复，措施却要增加"
    if matches("too_many_count", fact) and not matches("fewer", text):
        return "没有针对“太多、重复”：措施要精简、合并或减少"
    if done := stale_action(text, fact):
        return f"{STALE_NOTE}“{done}”这件事已经办了，措施要针对今后怎么防止同类问题"
    return None


STALE_NOTE = "事实里"


def stale_fallback(fact: str) -> str:
    """The preventive measure for a fact whose thing was already done, chosen by what was done
    (``measures.yaml`` → done → fallback: a 处分 already given asks for rules learnt and checks before)."""
    data = measure_data()["done"]
    for part in re.split(r"[，。；]", fact):
        for verb in done_verbs(part):
            if verb in data["fallback"]:
                return data["fallback"][verb]
    return data["fallback"]["default"]


def done_verbs(part: str) -> list[str]:
    """What one clause of a fact says was done, by the events' verbs (``measures.yaml`` → done → events)."""
    return [m.group("v") for event in measure_data()["done"]["events"] if (m := re.search(event, part))]


def stale_action(action: str, fact: str) -> str | None:
    """The clause of ``fact`` saying that what ``action`` would do was already done (made late, opened late…),
    else None: such a measure would only do it again (``measures.yaml`` → done)."""
    data = measure_data().get("done") or {}
    if not data or not (grams(action) - COMMON) & grams(fact):
        return None
    not_done = re.compile(data["not_done"])
    for part in re.split(r"[，。；]", fact):
        if not_done.search(part):
            continue
        if any(re.search(data["stale"].get(verb, "(?!)"), action) for verb in done_verbs(part)):
            return part.strip()
    return None


def target_from(fact: str) -> tuple[str, int | None] | None:
    """A checkable target derived from the fact's numbers, with the months it needs (first rule that applies)."""
    for rule in target_rules():
        m = rule.pattern.search(fact)
        if not m:
            continue
        g = {k.rstrip("2"): (fact[word_start(fact, m.start(k)):m.end(k)] if k.startswith("obj") else v)
             for k, v in m.groupdict().items() if v is not None}
        values = {"unit": g.get("unit") or "", "obj": re.sub(r"^[年月日]|(?:全年|今年|年度|年内)$", "", g.get("obj") or ""),
                  "mid": re.sub(r"[了过]$", "", g.get("mid") or "")}
        values["what"] = next((v for v in (values["obj"], values["mid"]) if ACTIVITY.search(v)), "")
        if rule.kind == "remaining":
            a, b = _number(g.get("a")), _number(g.get("b"))
            if a is None or b is None or b >= a:
                continue
            values["diff"] = _fmt(a - b, g.get("a", ""), g.get("b", ""))
        elif rule.kind in ("same", "next"):
            n = _number(g.get("n"))
            if n is None:
                continue
            values["n"] = g.get("n")
            values["next"] = _fmt(n + 1, g.get("n", ""), "")
        return rule.template.format(**values), rule.months
    return None


def _number(raw: str | None) -> float | None:
    if not raw:
        return None
    if raw in CN_NUM:
        return float(CN_NUM[raw])
    try:
        return float(raw)
    except ValueError:
        return None


def _fmt(value: float, *sources: str) -> str:
    decimals = max((len(s.split(".")[1]) for s in sources if s and "." in s), default=0)
    return f"{value:.{decimals}f}" if decimals else str(int(round(value)))


def meeting_day(run: Run) -> dt.date:
    """The meeting date, or the customary January after the 年度 when the facts give none."""
    return run.facts.meeting_date or dt.date(run.facts.year + 1, 1, 20)


def deadline(meeting: dt.date, months: int) -> str:
    """End of the month ``months`` after the meeting, as “YYYY年M月底前”."""
    y, m = divmod(meeting.month - 1 + months, 12)
    year, month = meeting.year + y, m + 1
    calendar.monthrange(year, month)
    return f"{year}年{month}月底前"


def deadline_for(run: Run, action: str, target: str, months: int | None, fact: str) -> tuple[str, bool]:
    """(deadline phrase, recurring?) from a date the fact sets, the target's size or the action's words."""
    meeting = meeting_day(run)
    m = FACT_DATE.search(fact)
    if m and m.group(2) and dt.date(int(m.group(1)), int(m.group(2)), 1) > meeting:
        return f"{m.group(1)}年{int(m.group(2))}月底前", False
    if m and m.group(3) and int(m.group(1)) >= meeting.year:
        when = "年底前" if "底" in m.group(3) else m.group(3)
        return f"{m.group(1)}年{when}", False
    data = measure_data()
    words = f"{action}，{target}"
    for klass in data["deadlines"]:
        if any(w in words for w in klass["words"]):
            if klass.get("recurring"):
                start = deadline(meeting, 1).replace("月底前", "月")
                return f"自{start}起长期坚持", True
            months = months or klass["months"]
            break
    return deadline(meeting, months or data.get("default_months", 3)), False


def owner_for(run: Run, category: str, fact: str = "") -> str:
    """The proposed owner: 本人 for a 个人 material, else by the fact's category (to be confirmed); for a
    班子 the office the fact names carries it out instead of “相关科室”, unless the fact finds that office at
    fault: then the 纪检 organisation sees to its rectification."""
    owners = measure_data()["owners"]
    if run.voice == "个人":
        return "本人"
    table = owners.get(run.voice, {})
    owner = table.get(category) or table.get("default", "")
    office = office_in(fact) if run.voice == "班子" else ""
    if office and at_fault(office, fact):
        return measure_data()["supervised"]["owner"].format(office=office)
    if office and "相关科室" in owner:
        owner = owner.replace("分管班子成员", f"分管{office}的班子成员").replace("相关科室", office)
    return owner


def at_fault(office: str, fact: str) -> bool:
    """Whether the office is the one the fact finds at fault (把关不严, 违规… within 20 characters after its
    name: measures.yaml → supervised), so it may not be the one that carries the measure out."""
    fault = measure_data()["supervised"]["fault"]
    return re.search(re.escape(office) + r"[^。；]{0,20}?(?:" + fault + ")", fact) is not None


def write_action(run: Run, heading: str, fact: Fact, text: str, taken: list[str]) -> tuple[str, str]:
    """(action, source) for one problem: the model's when it passes the checks, else the fallback."""
    examples = action_examples()
    k = run.profile.shots
    if run.embedder is not None:
        nearest = action_nearest(run.embedder)
        vec = run.vector(f"{heading}。{text}")
        first = nearest.pick("", fact.category, k=k, vector=vec)
        second = nearest.pick("", fact.category, k=k, skip=k, vector=vec)
    else:
        same = [i for i, e in enumerate(examples) if e.category == fact.category] + list(range(len(examples)))
        first, second = same[:k], same[k:2 * k]
    shots = [({"heading": examples[i].heading, "fact": examples[i].fact, "hint": ""}, examples[i].action) for i in first]
    retry = [({"heading": examples[i].heading, "fact": examples[i].fact, "hint": ""}, examples[i].action)
             for i in second]

    def check(t: str) -> str | None:
        return action_problem(t, text, heading, run.voice, taken)

    answer = slots.ask(run, "action", shots, {"heading": heading, "fact": text, "hint": ""},
                       max_tokens=run.profile.action_tokens, check=check, retry_shots=retry,
                       retry_inputs={"heading": heading, "fact": text, "hint": ACTION_HINT})
    if answer is not None:
        return fix_verb(answer, fact.text), "model"
    tries = [a for a in run.slots.attempts if a.step == "action"][-2:]
    if any((a.rejected or "").startswith(STALE_NOTE) for a in tries):  # the thing was done, late: prevent that
        return stale_fallback(fact.text), "code"
    if fact.category == "上年度整改":  # what to do is known: finish what last year's plan left
        return "对上年度没有完成的整改事项逐项倒排进度，明确完成时限", "code"
    if (grave := serious_for(fact.text)) is not None and grave.action_fallback:  # what such a fault needs
        return grave.action_fallback, "code"
    if omitted := omission_action(fact.text):  # what the fact says was not done is what to do
        return as_rule(omitted), "code"
    return GAP.format(what=f"针对“{clause(heading)}”的具体整改办法（改什么、怎么改）"), "gap"


def omissions(fact: str) -> list[str]:
    """What the fact says the writer did not do, as actions (“没有逐件回访” → “逐件回访”), leaving out what
    reads as no action (被搁置, 就…, a bare 发现), manners (一抓到底) and nobody (没有人…): measures.yaml →
    omissions."""
    data = measure_data()["omissions"]
    acts = [re.sub(r"^(?!经过)([\u4e00-\u9fff]{1,2})过", r"\1", m.group("act"))  # 检查过登记 → 检查登记
            for m in re.finditer(data["pattern"], fact)]
    return [a for a in acts if not re.search(data["not_act"], a)
            and not re.fullmatch(data["manner"], a) and not a.startswith(data["nobody"])]


def omission_action(fact: str) -> str:
    """The last thing the fact says the writer did not do, as the action, or "" when there is none."""
    acts = omissions(fact)
    return acts[-1] if acts else ""


def repeats_tried(action: str, fact: str) -> str | None:
    """The remedy the fact says was all that was done (“只作了口头提醒”) when the action does it again without
    adding anything (``measures.yaml`` → tried), else None."""
    data = measure_data().get("tried")
    if not data or re.search(data["escalate"], action):
        return None
    for m in re.finditer(data["fact"], fact):
        obj = m.group("obj")
        if (grams(obj) - COMMON) & (grams(action) - COMMON):
            return obj
    return None


def as_rule(act: str) -> str:
    """An omitted manner (“经过镇长办公会研究”) said as a rule for the future, not left as a fragment (the
    gate's draft had “3.经过镇长办公会研究。”); an omitted action stands as it is."""
    return f"今后同类事项一律{act}，并记入会议纪要" if re.match(r"经过?|按照?|报经|向", act) else act


def misses_omissions(action: str, fact: str) -> bool:
    """The fact says what was not done and the action touches none of it (round-4 reviewer: “优化编制、加强
    培训” for a post left empty with “没有提出人选”)."""
    acts = omissions(fact)
    return bool(acts) and not any((grams(action) - COMMON) & (grams(a) - COMMON) for a in acts)




def fix_verb(action: str, fact: str) -> str:
    """“完善/健全 X” for an X the fact says was never made becomes “建立 X” (one cannot improve what does
    not exist)."""
    if matches("never_built", fact):
        return re.sub(r"^(?:进一步)?(?:完善|健全)", "建立", action)
    return action


PER_YEAR = {"每月": 12, "每季度": 4, "每半年": 2, "每学期": 2}


def below_action_rate(action: str, target: str) -> bool:
    """A yearly minimum (“全年不少于3次”) lower than the rate the action itself sets (“每季度…一次”): the
    two would contradict each other, so the action's rate stands alone."""
    m = re.search(r"全年不少于(\d+)", target)
    rate = max((n for word, n in PER_YEAR.items() if word in action), default=0)
    return bool(m) and rate > int(m.group(1))


def write_measure(run: Run, n: int, problem_ids: list[str], heading: str, fact: Fact, text: str,
                  taken: list[str]) -> Measure:
    """One measure for one problem (or last year's unfinished rectification)."""
    action, source = write_action(run, heading, fact, text, taken)
    derived = target_from(fact.text)
    if derived:
        target, months, target_source = derived[0], derived[1], "facts"
    else:  # no stock result clause: a target the facts cannot give is left to the model's action
        target, months, target_source = "", None, "model" if matches("result", action) else "none"
    if target_source == "facts" and below_action_rate(action, target):
        target, months, target_source = "", None, "none"
    due, _ = deadline_for(run, action, target if target_source == "facts" else "", months, fact.text)
    return Measure(id=f"M{n}", problem_ids=problem_ids, action=action, action_from=source, target=target,
                   target_from=target_source, owner=owner_for(run, fact.category, fact.text), deadline=due)


def write_measures(run: Run, problems: list[Problem], unfinished: list[Fact]) -> list[Measure]:
    """One measure per problem (at most MAX_MEASURES), then one per unfinished rectification fact."""
    run.emit("status", "正在拟定整改措施")
    out: list[Measure] = []
    taken: list[str] = []
    for p in problems[:MAX_MEASURES]:
        fact = run.fact(p.fact_ids[0]) if p.fact_ids else None
        if fact is None:
            continue
        m = write_measure(run, len(out) + 1, [p.id], p.heading, fact, p.instance, taken)
        taken.append(m.action)
        out.append(m)
    for fact in unfinished:
        m = write_measure(run, len(out) + 1, [], "上年度整改事项还没有全部完成", fact, fact.text, taken)
        m.fact_id = fact.id
        m.action = name_open_items(m.action, fact.text)
        taken.append(m.action)
        out.append(m)
    return out


QUOTED = re.compile(r"[“\"]([^”\"]{2,20})[”\"]")


def open_items(fact: str) -> list[str]:
    """The quoted names of last year's items the fact says are not done: the stretch from a name to the next
    name says 未/没有/推迟…, or gives a planned and a done quantity that fall short (计划铺设4.6公里，已铺设
    2.1公里)."""
    marks = list(QUOTED.finditer(fact))
    out: list[str] = []
    for k, m in enumerate(marks):
        stretch = fact[m.start():marks[k + 1].start() if k + 1 < len(marks) else len(fact)]
        stretch = re.split(r"[。；;]", stretch)[0]
        if (matches("unfinished", stretch) or re.search(r"还没|没有|未", stretch) or _short_of(stretch)) \
                and m.group(1) not in out:
            out.append(m.group(1))
    return out


def _short_of(text: str) -> bool:
    """A planned quantity and a smaller done one (计划…4.6公里…已…2.1公里)."""
    m = re.search(r"计划[^，。；\d]{0,8}(\d+(?:\.\d+)?)[^，。；]*[，,]\s*(?:已|只|实际)[^，。；\d]{0,8}(\d+(?:\.\d+)?)", text)
    return m is not None and float(m.group(2)) < float(m.group(1))


def name_open_items(action: str, fact: str) -> str:
    """The measure for last year's unfinished items names each of them (round-5 blind review: “完成剩余4项
    整改事项” without saying which)."""
    missing = [n for n in open_items(fact) if n not in action] if not action.startswith("【") else []
    return f"{action}，重点完成{''.join(f'“{n}”' for n in missing)}" if missing else action




def unfinished_rectification(run: Run, fact_ids: list[str]) -> list[Fact]:
    """The 上年度整改 facts that say something is still left to do (in words, in numbers, or by a date ahead)."""
    facts = [f for f in (run.fact(fid) for fid in fact_ids) if f is not None]
    return [f for f in facts if matches("unfinished", f.text) or target_from(f.text) or _date_ahead(run, f.text)]


def _date_ahead(run: Run, text: str) -> bool:
    meeting = meeting_day(run)
    return any(dt.date(int(y), int(m), 1) >= meeting.replace(day=1)
               for y, m in re.findall(r"(\d{4})年(\d{1,2})月", text) if 1 <= int(m) <= 12)
