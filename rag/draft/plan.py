"""Planning: place every fact under the frame's aspects before anything is written.

Signals, strongest first: the user's aspect hint, the frame's category→aspects map (data in the frame
file), the aspect's keywords in the fact, and the embedding similarity of the fact to the aspect's name
and description. The model is asked only to break a near tie (when the profile allows it).

An aspect is left as a gap only when no fact fits it; a fact that fits an empty aspect is moved there from
an aspect that keeps at least one other fact. Facts of the categories 上年度整改 and 典型案例 serve their own
parts; a fact that reads like a notified case or last year's rectification serves that part too.
"""

from __future__ import annotations

import re
from typing import Any

import numpy as np

from rag.draft.facts import Fact, UnitFacts
from rag.draft.items import Placement, Plan
from rag.frames import Aspect, Frame

SPECIAL = {"上年度整改": "rectification", "典型案例": "case"}
MAX_PER_ASPECT = 3
CASE_LIKE = re.compile(r"(?:通报|典型案例|警示)[^。]{0,60}(?:开除|撤职|免职|处分|留置|立案|移送|判处|违纪|违法|受贿)")
OTHERS_CASE = re.compile(r"某某|某[镇乡村县市区局委厂所校院]|邻[县市区镇]|外[县市地]|其他[县市区单位]")
RECTIFICATION_LIKE = re.compile(r"(?:上年度|上一年度|去年|上次)(?:民主生活会|组织生活会)[^。]{0,20}整改")
HINT, FIRST, SECOND, KEYWORD, SEMANTIC = 3.0, 1.0, 0.6, 0.5, 0.8
FITS = 0.75
"""A fact fits an aspect when the category map or a keyword sends it there, or its semantic share reaches this."""
TIE = 0.15


def plan_facts(facts: UnitFacts, frame: Frame, embedder: Any = None, choose: Any = None) -> Plan:
    """Lay the facts out over ``frame`` (see the module docstring).

    ``embedder`` gives the semantic signal (none: category, hint and keywords only); ``choose(fact,
    a, b)`` may pick between two aspects in a near tie (returns the chosen Aspect or None).
    """
    plan = Plan(by_aspect={a.name: [] for a in frame.aspects})
    regular = _set_aside(facts, plan)
    scores = score_matrix(regular, frame, embedder)
    for i, fact in enumerate(regular):
        aspect, why = _best(fact, frame, scores[i], choose)
        plan.by_aspect[aspect.name].append(fact.id)
        plan.placements.append(Placement(fact_id=fact.id, aspect=aspect.name, score=round(float(scores[i].max()), 3),
                                         why=why))
    _fill_empty(plan, regular, frame, scores)
    _spread(plan, regular, frame, scores)
    plan.gaps = {a.name: frame.categories_for(a) for a in frame.aspects if not plan.by_aspect[a.name]}
    return plan


def _set_aside(facts: UnitFacts, plan: Plan) -> list[Fact]:
    """Facts for the 上年度整改 / 案例 parts; the rest (including case-like facts of other categories,
    which also serve the case part) are returned for the aspects."""
    regular = []
    for fact in facts.facts:
        part = SPECIAL.get(fact.category)
        if part:
            getattr(plan, part).append(fact.id)
            plan.placements.append(Placement(fact_id=fact.id, aspect=None, why=part))
            continue
        if CASE_LIKE.search(fact.text):
            plan.case.append(fact.id)
            if OTHERS_CASE.search(fact.text):
                plan.placements.append(Placement(fact_id=fact.id, aspect=None, why="case"))
                continue  # another unit's case: it is not a problem of ours
        if RECTIFICATION_LIKE.search(fact.text):
            plan.rectification.append(fact.id)
        regular.append(fact)
    return regular


def score_matrix(facts: list[Fact], frame: Frame, embedder: Any = None) -> np.ndarray:
    """facts × aspects scores: hint, category map, keywords, and the semantic share (0..1 across aspects)."""
    out = np.zeros((len(facts), len(frame.aspects)), dtype=np.float32)
    semantic = _semantic(facts, frame, embedder)
    for i, fact in enumerate(facts):
        mapped = frame.aspects_for(fact.category)
        for j, aspect in enumerate(frame.aspects):
            s = SEMANTIC * semantic[i, j]
            if fact.aspect and (aspect.matches(fact.aspect) or fact.aspect in aspect.name):
                s += HINT
            if mapped and aspect == mapped[0]:
                s += FIRST
            elif aspect in mapped:
                s += SECOND
            if any(k in fact.text for k in aspect.keywords):
                s += KEYWORD
            out[i, j] = s
    return out


def fits(score: float, fact: Fact, aspect: Aspect, frame: Frame) -> bool:
    """Could a careful writer put ``fact`` under ``aspect``?"""
    return aspect in frame.aspects_for(fact.category) or any(k in fact.text for k in aspect.keywords) \
        or score >= SEMANTIC * FITS or bool(fact.aspect and aspect.matches(fact.aspect))


def _semantic(facts: list[Fact], frame: Frame, embedder: Any) -> np.ndarray:
    """Per fact, the similarity to each aspect rescaled to 0..1 (the best aspect 1, the worst 0)."""
    sem = np.zeros((len(facts), len(frame.aspects)), dtype=np.float32)
    if embedder is None or not facts:
        return sem
    fv = embedder.embed_passages([f"{f.category}：{f.text}" for f in facts])
    av = embedder.embed_passages([f"{a.name}：{a.description or '、'.join(a.keywords)}" for a in frame.aspects])
    sim = fv @ av.T
    lo, hi = sim.min(axis=1, keepdims=True), sim.max(axis=1, keepdims=True)
    return np.where(hi - lo > 1e-6, (sim - lo) / np.maximum(hi - lo, 1e-6), 0.0).astype(np.float32)


def _best(fact: Fact, frame: Frame, row: np.ndarray, choose: Any) -> tuple[Aspect, str]:
    order = list(np.argsort(-row))
    first = frame.aspects[order[0]]
    why = _why(fact, first, frame)
    if choose is not None and len(order) > 1 and row[order[0]] - row[order[1]] < TIE and why == "similar":
        picked = choose(fact, first, frame.aspects[order[1]])
        if picked is not None:
            return picked, "model"
    return first, why


def _why(fact: Fact, aspect: Aspect, frame: Frame) -> str:
    if fact.aspect and aspect.matches(fact.aspect):
        return "hint"
    if aspect in frame.aspects_for(fact.category):
        return "category"
    return "keyword" if any(k in fact.text for k in aspect.keywords) else "similar"


def _where(plan: Plan, fact_id: str) -> str:
    return next(a for a, ids in plan.by_aspect.items() if fact_id in ids)


def _move(plan: Plan, fact_id: str, to: str, why: str) -> None:
    plan.by_aspect[_where(plan, fact_id)].remove(fact_id)
    plan.by_aspect[to].append(fact_id)
    for p in plan.placements:
        if p.fact_id == fact_id:
            p.aspect, p.why = to, why


def _fill_empty(plan: Plan, facts: list[Fact], frame: Frame, scores: np.ndarray) -> None:
    """Give each empty aspect a fitting fact from an aspect that keeps another one (least loss first)."""
    index = {a.name: j for j, a in enumerate(frame.aspects)}
    changed = True
    while changed:
        changed = False
        for aspect in frame.aspects:
            if plan.by_aspect[aspect.name]:
                continue
            j = index[aspect.name]
            cands = []
            for i, fact in enumerate(facts):
                home = _where(plan, fact.id)
                if len(plan.by_aspect[home]) < 2 or not fits(scores[i, j], fact, aspect, frame):
                    continue
                if fact.aspect and frame.aspects[index[home]].matches(fact.aspect):
                    continue  # the user put it there
                cands.append((scores[i, index[home]] - scores[i, j], fact.id))
            if cands:
                _move(plan, min(cands)[1], aspect.name, "moved")
                changed = True


def _spread(plan: Plan, facts: list[Fact], frame: Frame, scores: np.ndarray) -> None:
    """An aspect with more than MAX_PER_ASPECT facts passes the extra ones to fitting aspects with fewer."""
    index = {a.name: j for j, a in enumerate(frame.aspects)}
    by_id = {f.id: (i, f) for i, f in enumerate(facts)}
    for aspect in frame.aspects:
        ids = plan.by_aspect[aspect.name]
        while len(ids) > MAX_PER_ASPECT:
            moves = []
            for fid in ids:
                i, fact = by_id[fid]
                for other in frame.aspects:
                    n = len(plan.by_aspect[other.name])
                    if other is aspect or n >= MAX_PER_ASPECT or not fits(scores[i, index[other.name]], fact, other, frame):
                        continue
                    moves.append((scores[i, index[aspect.name]] - scores[i, index[other.name]], fid, other.name))
            if not moves:
                break
            _, fid, to = min(moves)
            _move(plan, fid, to, "moved")


def resolve_frame(facts: UnitFacts) -> Frame:
    """The facts' frame (an id, or a frame written inline), else the default for their year and type."""
    from rag.errors import InputError
    from rag.frames import get_frame, select_frame

    if isinstance(facts.frame, Frame):
        return facts.frame
    frame = get_frame(facts.frame) if facts.frame else select_frame(facts.year, facts.meeting_type)
    if frame is None:
        raise InputError(f"没有适用于{facts.year}年度{facts.meeting_type}材料的框架",
                         "请在事实文件中用 frame 指定框架（id 或直接写出方面），或在数据目录 frames/ 新增一个")
    return frame
