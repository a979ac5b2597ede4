"""Causes that analyse: each names a root, the problems it explains, and a reason in the writer's voice.

Problems are filed under a root (the fact category's root in ``knowledge_base/genre/roots.yaml``, else the
root whose description is nearest); the problems of one root share one cause. The model writes the reason
(one small call with two worked reasons of that root in the right voice) and the genre predicates check it:
it must speak of thought or Party spirit, not repeat the problems, not blame others, not pass a verdict the
facts can't bear, not give a correct view as the fault, and name nothing concrete that neither the facts nor
the genre's thought words hold (``thought_words.yaml``: “老干部”, “金额不大” invented against the facts).
When no answer passes, the nearest bank reason that passes every check against the facts is used as it
stands (the model's adaptations of bank reasons passed about 12 times in 100 and read worst: reversed or
invented), else the root's template (which names no problem: the cause lists them after it); both are
marked for the user as stock sentences, and the bank's nearest reasons are offered as alternatives to pick
(UI and CLI).
"""

from __future__ import annotations

import re

import numpy as np

from rag.critic.grounding import unsupported
from rag.critic.lexicon import lexicon_of
from rag.draft import slots
from rag.draft.bank import Nearest, Root, heading_examples, heading_nearest, root, roots, serious_for
from rag.draft.items import Cause, Problem
from rag.draft.problems import has_number, voice_ok
from rag.draft.run import Run
from rag.draft.text import clauses, contained, head_clause, longest_common
from rag.genre import against_facts, hanzi, invented_behaviour, matches, unfounded_terms

MAX_CAUSES = 6
MAX_NAMED = 2
"""Problems named to the model per cause (more made the small model list them instead of analysing)."""


SHORTFALL = re.compile(r"(?:还|仍|依然|比较|较)?(?:不够|不到位|不足|不强|不深|不实|不严|不紧|不细|不高|不力|不及时|不主动|不规范|"
                       r"不彻底|不充分|不扎实|不牢|存在|缺位|缺失|缺乏|滞后|偏弱|偏软|偏少|没有|未能|流于|打了?折扣|走过场|有差距|有待|过多|不(?!正之风|良风气))")


SOFTENERS = re.compile(r"有时候|有时|偶尔")


def shorten(text: str, limit: int = 80) -> str:
    """A reason tidied up: softening words taken out (有时、偶尔), and when it runs on, cut at the last “；”
    or “，” that keeps it within ``limit`` characters."""
    text = SOFTENERS.sub("", text)
    if len(hanzi(text)) <= limit:
        return text
    for sep in "；，":
        cuts = [i for i, ch in enumerate(text) if ch == sep and len(hanzi(text[:i])) <= limit]
        if cuts and len(hanzi(text[:cuts[-1]])) >= 20:
            return text[:cuts[-1]]
    return text


def topic(heading: str) -> str:
    """What a problem is about, without the shortfall it names (“学用结合还不够紧密” → “学用结合”):
    given to the model instead of the 定性, which it otherwise repeats as its “reason”."""
    heading = head_clause(heading)
    m = SHORTFALL.search(heading)
    head = heading[:m.start()] if m and m.start() >= 2 else heading
    return head.rstrip("的和与在对、，") or heading


def reason_problem(text: str, problems: list[Problem], shots: list[str], voice: str,
                   copy_limit: float = 0.7, known: str | None = None) -> str | None:
    """Why ``text`` is not an acceptable reason for these problems (None when it is). ``known`` is what the
    reason may name besides the genre's thought words (the problems' facts); None skips that check."""
    n = len(hanzi(text))
    if not 12 <= n <= 90:
        return "长度不合适"
    if not matches("reason", text):
        return "没有讲思想上的根子"
    if has_number(text) or matches("claimed", text):
        return "复述了事实或写了结果"
    if matches("blame_others", text) or matches("other_subject", text):
        return "把问题推给了别人"
    if matches("consequence", text):
        return "写了事实里没有的后果（导致……、影响了……）"
    if matches("soft_verdict", text):
        return "用了弱化的说法（有待加强）"
    if matches("right_view", text):
        return "把一种正确的认识当成了原因"
    if not matches("self_fault", text):
        return "只有表态，没有说出自身思想上的不足"
    if lexicon_of("excuse").find(text) or lexicon_of("hedge").find(text):
        return "写了客观理由或弱化的词"
    if matches("unfounded_verdict", text):
        return "下了没有依据的结论"
    if matches("self_contradiction", text):
        return "原因前后矛盾"
    if known is not None and (against := against_facts(text, known)):
        return against
    if known is not None and (done := invented_behaviour(text, known)):
        return f"写了事实里没有的具体做法（{done}）"
    if known is not None and (new := unfounded_terms(text, known)):
        return f"写了事实里没有的具体事物（{'、'.join(new[:3])}）"
    told = "。".join(f"{p.heading}。{p.instance}" for p in problems)
    heads = "。".join(p.heading for p in problems)
    if contained(text, told) >= 0.6 or matches("problem_listing", text) or any(
            len(hanzi(c)) >= 5 and contained(c, heads) >= 0.7 for c in clauses(text)):
        return "只是复述或罗列问题"
    if any(restates(text, p.heading) for p in problems):
        return "把问题的定性当成了原因（同义反复）"
    if shots and max(contained(text, s) for s in shots) >= copy_limit:
        return "照抄了示例"
    if not voice_ok(text, voice):
        return "口吻不对"
    parts = [c for c in clauses(text) if len(hanzi(c)) >= 4]
    if len(set(parts)) < len(parts):
        return "句子重复"
    return None


def restates(reason: str, heading: str) -> bool:
    """The reason says the problem's own 定性 again (round-4 reviewer: “班子认为执法部门的反应慢” for
    “执法部门的反应不够及时”): a run of 6 characters shared with it, or its topic followed by a negation."""
    if longest_common(reason, heading) >= 6:
        return True
    what = topic(heading)
    return len(hanzi(what)) >= 4 and re.search(re.escape(what) + r"[^，。；]{0,3}[不没未]", reason) is not None


def root_for(category: str, votes: list[tuple[str, float]], heading: str = "", fact: str = "") -> str:
    """The root a problem is filed under: the one its fact category names (roots.yaml), else the roots'
    keywords in the 定性 (2 each) and the fact (1 each) plus the vote of the nearest worked examples (the
    nearest counts most); with none of these, 党性修养. A grave fact (headings.yaml → serious) goes to its
    kind's root first (会后透露会议内容 is 组织纪律 whatever category the user gave it)."""
    if (grave := serious_for(fact)) is not None and grave.root:
        return grave.root
    named = [r.id for r in roots() if category in r.categories]
    if len(named) == 1:
        return named[0]
    score: dict[str, float] = {}
    for r in roots():
        if r.keywords is not None and (not named or r.id in named):
            hits = 2 * len(r.keywords.findall(heading)) + len(r.keywords.findall(fact))
            if hits:
                score[r.id] = float(hits)
    for rank, (rid, _) in enumerate(votes):
        if not named or rid in named:
            score[rid] = score.get(rid, 0.0) + 1.0 / (rank + 1)
    return max(score, key=score.get) if score else (named[0] if named else "党性修养")


def votes_for(run: Run, text: str, k: int = 3) -> list[tuple[str, float]]:
    """(root, weight) of the ``k`` worked 定性 examples nearest to a problem's text."""
    if run.embedder is None:
        return []
    examples, _ = heading_examples()
    nearest = heading_nearest(run.embedder)
    vec = run.vector(text)
    sims = nearest.matrix @ vec
    order = np.argsort(-sims)[:k]
    return [(examples[i].root, float(sims[i])) for i in order if examples[i].root]


def group_by_root(run: Run, problems: list[Problem]) -> list[tuple[str, list[Problem]]]:
    """(root, problems) in the order the roots first appear; at most MAX_CAUSES groups."""
    groups: dict[str, list[Problem]] = {}
    votes: dict[str, list[tuple[str, float]]] = {}
    for p in problems:
        fact = run.fact(p.fact_ids[0]) if p.fact_ids else None
        votes[p.id] = votes_for(run, f"{p.heading}。{fact.text if fact else p.instance}")
        p.root = root_for(fact.category if fact else "", votes[p.id], p.heading, fact.text if fact else p.instance)
        groups.setdefault(p.root, []).append(p)
    while len(groups) > MAX_CAUSES:
        smallest = min(groups, key=lambda r: len(groups[r]))
        moved = groups.pop(smallest)
        target = _nearest_kept(moved, groups, votes, run)
        for p in moved:
            p.root = target
        groups[target] += moved
    return list(groups.items())


def _nearest_kept(moved: list[Problem], groups: dict, votes: dict, run: Run | None = None) -> str:
    """The kept root the moved problems' votes favour most; with no vote for any kept root, the one whose
    description is nearest to the moved problems (a 研讨发言 problem went to 纪律规矩意识 as the largest
    group), else the largest group."""
    score = {r: sum(w for p in moved for rid, w in votes.get(p.id, []) if rid == r) for r in groups}
    best = max(score, key=score.get)
    if score[best] > 0:
        return best
    if run is not None and run.embedder is not None:
        vec = np.asarray(run.vector("；".join(f"{p.heading}。{p.instance}" for p in moved)), dtype=float)
        sims = {r: cosine(np.asarray(run.vector(root(r).description), dtype=float), vec) for r in groups}
        return max(sims, key=sims.get)
    return max(groups, key=lambda r: len(groups[r]))


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine similarity of two vectors (0 when either is zero)."""
    n = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(a @ b) / n if n else 0.0


def known_for(run: Run, r: Root, problems: list[Problem]) -> str:
    """What a reason for these problems may name: their facts, 定性 and instances, and the root's title (not its
    description, which lists concrete matters such as 请示报告 that a stock reason then took as known)."""
    facts = [run.fact(fid) for p in problems for fid in p.fact_ids]
    return "。".join([r.title] + [f.text for f in facts if f is not None]
                     + [f"{p.heading}。{p.instance}" for p in problems])


def who_of(voice: str) -> str:
    """The subject a reason is said by: 我 / 支委会 / 班子."""
    return {"个人": "我", "支部": "支委会"}.get(voice, "班子")


def write_cause(run: Run, n: int, root_id: str, problems: list[Problem]) -> Cause:
    """One cause: the model's reason when it passes the checks, else the nearest bank reason that passes them,
    else the root's template; the bank's nearest reasons stay offered as candidates."""
    r: Root = root(root_id)
    bank = list(r.examples(run.voice))
    shots = [({"root": r.id, "problems": [topic(x) for x in e.problems], "hint": ""}, e.reason)
             for e in bank[:run.profile.shots]]
    retry = [({"root": r.id, "problems": [topic(x) for x in e.problems], "hint": ""}, e.reason)
             for e in (bank[1:] + bank[:1])[:run.profile.shots]]
    heads = [topic(p.heading) for p in problems][:MAX_NAMED]
    reasons = [e.reason for e in bank]
    known = known_for(run, r, problems)
    who = who_of(run.voice)
    hint = f"不要重复问题，不写事实里没有的事，从“{who}认为……”“{who}把……看得……”或“{who}怕……”写起，说清思想上的原因"
    answer = slots.ask(run, "reason", shots, {"root": r.id, "problems": heads, "hint": ""},
                       max_tokens=run.profile.reason_tokens,
                       check=lambda t: reason_problem(t, problems, reasons, run.voice, known=known),
                       retry_shots=retry, retry_inputs={"root": r.id, "problems": heads, "hint": hint}, fix=shorten,
                       retries=run.profile.reason_retries)
    cause = Cause(id=f"C{n}", root=r.id, title=r.title, problem_ids=[p.id for p in problems])
    cause.candidates = ranked_candidates(run, bank, heads)  # for the user to pick: never put in unasked
    if answer is None:
        answer = stock_reason(cause.candidates, problems, run.voice, known)
        cause.reason_from = "stock"
    if answer is None:
        answer = template_reason(r, problems, run.voice, known)
        cause.reason_from = "template"
    if answer is not None:
        cause.reason = answer
        return cause
    cause.reason_from = "gap"
    return cause


def stock_reason(candidates: list[str], problems: list[Problem], voice: str, known: str) -> str | None:
    """The nearest of the bank's own reasons that passes every check against these problems' facts (it
    names nothing and tells no behaviour the facts lack, and the guard finds nothing in it: “宣传部” in a
    reason about 意识形态 is a body the facts may not hold), as it stands; None when none does."""
    for text in candidates:
        if reason_problem(text, problems, [], voice, known=known) is None and not unsupported(text, known):
            return text
    return None


def template_reason(r: Root, problems: list[Problem], voice: str, known: str | None = None) -> str | None:
    """The root's template in the writer's voice (it names no problem: the cause lists them after it, and a
    template that named them read as the problem given as its own reason), or None when the root has no
    template or the sentence fails the checks (with ``known``, also those against the facts)."""
    if not r.template:
        return None
    text = r.template.format(who=who_of(voice))
    return None if reason_problem(text, problems, [], voice, known=known) else text


def ranked_candidates(run: Run, bank: list, heads: list[str], k: int = 3) -> list[str]:
    """The bank's reasons nearest to these problems (embedding similarity of the worked problems, else
    shared characters), best first."""
    if not bank:
        return []
    if run.embedder is None:
        return [e.reason for e in by_shared_chars(bank, heads)[:k]]
    nearest = Nearest(run.embedder, ["；".join(e.problems) + "。" + e.reason for e in bank], [""] * len(bank))
    return [bank[i].reason for i in nearest.pick("", k=k, vector=run.vector("；".join(heads)))]


def by_shared_chars(bank: list, heads: list[str]) -> list:
    """The worked reasons ordered by the characters their problems share with ``heads`` (most first)."""
    return sorted(bank, key=lambda e: -len(set("".join(e.problems)) & set("".join(heads))))


def write_causes(run: Run, problems: list[Problem]) -> list[Cause]:
    """One cause per root of the draft's problems (see the module docstring)."""
    run.emit("status", "正在剖析原因")
    return [write_cause(run, i, root_id, group)
            for i, (root_id, group) in enumerate(group_by_root(run, problems), start=1)]


def choose_candidate(cause: Cause, pick: int | str | None) -> Cause:
    """The cause with a candidate chosen (1-based index) or the user's own text; None/0 keeps the gap."""
    if pick in (None, 0, ""):
        return cause
    if isinstance(pick, int):
        if not 1 <= pick <= len(cause.candidates):
            return cause
        text, source = cause.candidates[pick - 1], "bank"
    else:
        text, source = str(pick).strip(), "user"
    return cause.model_copy(update={"reason": text, "reason_from": source})
