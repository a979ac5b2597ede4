"""Deterministic drafting metrics, computed on the draft's text so every system is measured the same way.

Each metric has an entry in :data:`METRICS` (Chinese label, group, direction, tolerance for regressions).
Text is compared at character level (Chinese has no spaces): bigrams for overlap, the critic's parser for
parts and items, the critic's predicates for anchors/deadlines/owners/results, and the critic's rules for
套话, hedges, numbering and unsupported tokens. All functions are pure and tested on hand-made inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rag.critic.engine import Report, critique
from rag.critic.parse import ParsedDraft, parse
from rag.critic.predicates import anchored, check
from rag.critic.similarity import ShingleIndex, jaccard_matrix
from rag.evals import review_checks as rc
from rag.evals.grounding_metric import draft_unsupported

GAP_MARK = re.compile(r"【(?:请补充|待核实|待补充)[^】]*】")
MAIN_ORDER = ("problems", "causes", "measures")
LINK_MIN_SHARED = 3  # content bigrams a measure/cause must share with a problem to count as addressing it
# bigrams that every draft uses; they say nothing about which problem a measure addresses
COMMON_BIGRAMS = {
    "问题", "工作", "学习", "加强", "不够", "落实", "进一步", "一步", "党员", "干部", "整改", "建立", "制度", "组织",
    "开展", "推进", "完善", "提高", "情况", "方面", "要求", "责任", "全面", "深入", "认真", "切实", "坚持", "存在",
    "没有", "不到", "到位", "完成", "月底", "年底", "底前", "前完", "年度", "会议", "单位", "班子", "本人", "支部",
}


@dataclass(frozen=True)
class Metric:
    """How to read a metric: label, group, +1 when higher is better (-1 lower), regression tolerance."""

    label: str
    group: str
    direction: int
    tolerance: float
    unit: str = ""


METRICS: dict[str, Metric] = {
    "structure.parts": Metric("必备部分齐全率", "结构", +1, 0.1),
    "structure.order": Metric("问题—原因—措施顺序正确", "结构", +1, 0.1),
    "structure.aspects": Metric("年度方面覆盖率", "结构", +1, 0.1),
    "structure.numbering_errors": Metric("编号错误数", "结构", -1, 0.5, "处"),
    "grounding.fact_coverage": Metric("应用事实覆盖率", "依据", +1, 0.15),
    "grounding.unsupported": Metric("无依据的数字/日期/名称", "依据", -1, 0.0, "处"),
    "grounding.must_not": Metric("出现禁止内容", "依据", -1, 0.0, "处"),
    "grounding.citations_valid": Metric("引用可核对率", "依据", +1, 0.05),
    "specificity.anchored": Metric("问题有具体事例比例", "具体", +1, 0.1),
    "specificity.cliche_per_k": Metric("套话密度（每千字）", "具体", -1, 0.5),
    "specificity.hedge_per_k": Metric("弱化词密度（每千字）", "具体", -1, 0.5),
    "specificity.measures_complete": Metric("措施有时限、责任人、结果比例", "具体", +1, 0.1),
    "linkage.problem_measure": Metric("问题有对应措施比例", "对应", +1, 0.15),
    "linkage.problem_cause": Metric("问题有对应原因比例", "对应", +1, 0.15),
    "linkage.orphan_measures": Metric("无对应问题的措施比例", "对应", -1, 0.15),
    "originality.max_sim_kb": Metric("与知识库范文/往年材料最高相似度", "原创", -1, 0.1),
    "originality.max_sim_run": Metric("与本批其他草稿最高相似度", "原创", -1, 0.1),
    "critic.errors": Metric("批改错误数（不含待补充标记）", "批改", -1, 1.0, "条"),
    "critic.warnings": Metric("批改警告数", "批改", -1, 2.0, "条"),
    "gaps.count": Metric("待补充/待核实标记数", "缺口", -1, 2.0, "处"),
    "gaps.expected_marked": Metric("应留缺口的方面已标注比例", "缺口", +1, 0.1),
    "review.avoidable_gaps": Metric("有事实可用却留空的方面数", "审核", -1, 0.0, "个"),
    "review.placement": Metric("事实归入合适方面的比例", "审核", +1, 0.1),
    "review.dingxing": Metric("问题有定性句的比例", "审核", +1, 0.1),
    "review.causes_left": Metric("原因留给用户填写的比例", "审核", -1, 0.1),
    "review.causes_listing": Metric("只罗列问题或同义反复的原因数", "审核", -1, 0.0, "条"),
    "review.causes_blame": Metric("把问题推给别人的原因数", "审核", -1, 0.0, "条"),
    "review.causes_consequence": Metric("写了后果（导致……）的原因数", "审核", -1, 0.0, "条"),
    "review.causes_no_fault": Metric("没有说出自身不足的原因数", "审核", -1, 0.0, "条"),
    "review.causes_unfounded": Metric("写了事实里没有的具体事物的原因数", "审核", -1, 0.0, "条"),
    "review.causes_right_view": Metric("把正确认识当原因的原因数", "审核", -1, 0.0, "条"),
    "review.causes_against_facts": Metric("自相矛盾、同事实矛盾或编造做法的原因数", "审核", -1, 0.0, "条"),
    "review.dingxing_bent": Metric("定性把事实说歪（方向反、换主体、降格）的问题数", "审核", -1, 0.0, "条"),
    "review.soft_verdict": Metric("定性用弱化说法的问题数", "审核", -1, 0.0, "条"),
    "review.other_subject": Metric("定性主语是别人的问题数", "审核", -1, 0.0, "条"),
    "review.shared_clauses": Metric("在2条以上措施中重复的句子数", "审核", -1, 0.0, "句"),
    "review.claimed": Metric("措施写成已取得结果的条数", "审核", -1, 0.0, "条"),
    "review.repeated_clauses": Metric("在3条以上措施中重复的句子数", "审核", -1, 0.0, "句"),
    "review.measure_object": Metric("措施针对问题具体对象的比例", "审核", +1, 0.1),
    "review.numeric_targets": Metric("由事实数字推出的量化目标数", "审核", +1, 1.0, "条"),
    "review.fragments": Metric("残句、叠词数", "审核", -1, 0.0, "处"),
    "review.wrong_voice": Metric("口吻错误数", "审核", -1, 0.0, "处"),
    "judge.pass_rate": Metric("模型评审通过率", "模型评审", +1, 0.1),
    "cost.seconds": Metric("用时", "开销", -1, float("inf"), "秒"),
    "cost.llm_calls": Metric("模型调用次数", "开销", -1, float("inf"), "次"),
    "critic.precision": Metric("批改精确率", "批改质量", +1, 0.02),
    "critic.recall": Metric("批改召回率", "批改质量", +1, 0.02),
    "critic.f1": Metric("批改 F1", "批改质量", +1, 0.02),
}


# ----------------------------------------------------------------------------------------- text helpers

def cjk(text: str) -> str:
    """Only the Chinese characters and digits of ``text`` (punctuation, spaces and markers dropped)."""
    return re.sub(r"[^\u4e00-\u9fff0-9]", "", text)


def bigrams(text: str) -> set[str]:
    """Character bigrams of the Chinese/digit content."""
    t = cjk(text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def hanzi_bigrams(text: str) -> set[str]:
    """Bigrams of the Chinese characters only (digits removed, so shared numbers do not count as overlap)."""
    t = re.sub(r"[^\u4e00-\u9fff]", "", text)
    return {t[i:i + 2] for i in range(len(t) - 1)}


def content_bigrams(text: str) -> set[str]:
    """Bigrams minus the genre's everyday ones (used to tell which problem a measure addresses)."""
    return bigrams(GAP_MARK.sub("", text)) - COMMON_BIGRAMS


def per_thousand(count: int, text: str) -> float:
    """``count`` per 1,000 Chinese characters of ``text``."""
    n = len(cjk(text))
    return round(1000 * count / n, 3) if n else 0.0


def _share(hits: int, total: int) -> float | None:
    return round(hits / total, 3) if total else None


def real_items(doc: ParsedDraft, kind: str) -> list[str]:
    """Item texts of a part, without items that are only gap markers.

    Numbered sentences such as “（一）由办公室牵头，……完成。” may be parsed as short headings; a heading that
    ends like a sentence (。) and has a comma counts as an item here.
    """
    out = []
    for part in doc.parts_of(kind):
        sentences = [h.text for h in part.aspects if h.text.rstrip().endswith("。") and "，" in h.text]
        for text in [*sentences, *(it.text for it in part.items)]:
            text = text.strip()
            body = re.sub(r"^\s*(?:[一二三四五六七八九十]是|[（(]?[一二三四五六七八九十\d]{1,2}[)）.．、])", "", text)
            if cjk(GAP_MARK.sub("", body)):
                out.append(text)
    return out


# ----------------------------------------------------------------------------------------- structure

def required_parts(frame: Any) -> list[str]:
    """Part kinds a draft in ``frame`` must contain."""
    extra = getattr(frame, "required_sections", []) or []
    out = list(MAIN_ORDER)
    if "上年度整改" in extra:
        out.append("rectification")
    if "反面典型案例剖析" in extra:
        out.append("case")
    return out


def parts_present(doc: ParsedDraft, required: Sequence[str]) -> float | None:
    """Share of the required part kinds present."""
    kinds = {p.kind for p in doc.parts}
    return _share(sum(k in kinds for k in required), len(required))


def parts_in_order(doc: ParsedDraft) -> float:
    """1.0 when the main parts that are present appear as 问题 → 原因 → 措施, else 0.0."""
    seen = [p.kind for p in doc.parts if p.kind in MAIN_ORDER]
    firsts = list(dict.fromkeys(seen))
    return 1.0 if firsts == [k for k in MAIN_ORDER if k in firsts] else 0.0


def aspect_coverage(text: str, aspects: Sequence[str]) -> float | None:
    """Share of the expected aspect names that appear (ignoring punctuation and a trailing 方面)."""
    body = cjk(text)
    hits = sum(cjk(a).removesuffix("方面") in body for a in aspects)
    return _share(hits, len(aspects))


# ----------------------------------------------------------------------------------------- grounding

def fact_used(text: str, fact_text: str) -> bool:
    """Is a fact used? All its numbers appear and a fifth of its Chinese bigrams do, or a third of them do."""
    grams = hanzi_bigrams(fact_text)
    if not grams:
        return False
    body = hanzi_bigrams(text)
    overlap = len(grams & body) / len(grams)
    numbers = re.findall(r"\d+(?:\.\d+)?", fact_text)
    flat = cjk(text)
    if numbers and all(n in flat for n in numbers) and overlap >= 0.2:
        return True
    return overlap >= 1 / 3


def fact_coverage(text: str, facts: dict[str, str], ids: Iterable[str]) -> tuple[float | None, list[str]]:
    """Share of the expected fact ids used, and the ids that were not."""
    ids = [i for i in ids if i in facts]
    missing = [i for i in ids if not fact_used(text, facts[i])]
    return _share(len(ids) - len(missing), len(ids)), missing


def must_not_hits(text: str, banned: Iterable[str]) -> list[str]:
    """The banned strings that occur in the text."""
    return [b for b in banned if b and b in text]


def citations_valid(citations: Sequence[dict], source_texts: dict[str, str]) -> float | None:
    """Share of citations whose quoted text is found in the cited source (None without citations)."""
    if not citations:
        return None
    ok = sum(bool(cjk(c.get("text", ""))) and cjk(c.get("text", ""))[:40] in source_texts.get(c.get("source", ""), "")
             for c in citations)
    return _share(ok, len(citations))


# ----------------------------------------------------------------------------------------- specificity

def anchored_share(problems: Sequence[str]) -> float | None:
    """Share of problem items with a concrete anchor (number, date, named event, source)."""
    return _share(sum(anchored(p) for p in problems), len(problems))


def measure_complete(text: str, meeting_type: str) -> bool:
    """Deadline, owner (not needed in 个人 drafts, where the writer is the owner) and a checkable result."""
    owner = meeting_type == "个人" or check("owner", text)
    return check("deadline", text) and owner and check("result", text)


def measures_complete(measures: Sequence[str], meeting_type: str) -> float | None:
    """Share of measure items that are complete."""
    return _share(sum(measure_complete(m, meeting_type) for m in measures), len(measures))


# ----------------------------------------------------------------------------------------- linkage

def linked(a: str, b: str, min_shared: int = LINK_MIN_SHARED) -> bool:
    """Do two items share enough specific content (bigrams beyond the genre's everyday ones)?"""
    return len(content_bigrams(a) & content_bigrams(b)) >= min_shared


def linkage(problems: Sequence[str], causes: Sequence[str], measures: Sequence[str]) -> dict[str, float | None]:
    """Problems addressed by a measure / explained by a cause, and measures that address no problem."""
    with_measure = sum(any(linked(p, m) for m in measures) for p in problems)
    with_cause = sum(any(linked(p, c, 2) for c in causes) for p in problems)
    orphans = sum(not any(linked(m, p) for p in problems) for m in measures) if problems else len(measures)
    return {
        "linkage.problem_measure": _share(with_measure, len(problems)),
        "linkage.problem_cause": _share(with_cause, len(problems)),
        "linkage.orphan_measures": _share(orphans, len(measures)),
    }


# ----------------------------------------------------------------------------------------- originality

def max_similarity(paragraphs: Iterable[str], index: ShingleIndex | None) -> tuple[float | None, str]:
    """Highest containment of any paragraph in a reference text of ``index``, and that reference's source."""
    if index is None or not len(index):
        return None, ""
    best, source = 0.0, ""
    for para in paragraphs:
        m = index.best(para)
        if m and m.score > best:
            best, source = m.score, str(m.meta.get("source") or m.key)
    return round(best, 3), source


def within_run_similarity(texts: Sequence[str]) -> list[float | None]:
    """For each text, its highest Jaccard similarity to any other text of the same run."""
    if len(texts) < 2:
        return [None] * len(texts)
    m = jaccard_matrix([GAP_MARK.sub("", t) for t in texts])
    out = []
    for i in range(len(texts)):
        others = [m[i, j] for j in range(len(texts)) if j != i]
        out.append(round(float(max(others)), 3))
    return out


# ----------------------------------------------------------------------------------------- critic

def critic_counts(report: Report) -> dict[str, int]:
    """Error/warning counts, not counting findings on our own gap markers (those are counted as gaps)."""
    errors = sum(f.level == "error" and f.rule != "placeholder.unfilled" and not GAP_MARK.search(f.quote or "")
                 for f in report.findings)
    warnings = sum(f.level == "warning" for f in report.findings)
    return {"critic.errors": errors, "critic.warnings": warnings}


def rule_count(report: Report, *rules: str) -> int:
    """Findings of the given rule ids."""
    return sum(f.rule in rules for f in report.findings)


def expected_gaps_marked(doc: ParsedDraft, aspects: Sequence[str]) -> float | None:
    """Share of the aspects that should carry a gap marker and do (marker inside that aspect's items)."""
    if not aspects:
        return None
    items = doc.items_of("problems")
    hits = 0
    for aspect in aspects:
        key = cjk(aspect).removesuffix("方面")[:8]
        hits += any(GAP_MARK.search(it.text) and key in cjk(it.aspect or "") + cjk(it.text) for it in items)
    return _share(hits, len(aspects))


# ----------------------------------------------------------------------------------------- one draft

@dataclass
class DraftInputs:
    """What the metrics need besides the text."""

    facts: dict[str, str]  # fact id -> text
    known: str  # facts' own wording plus cited passages (for the grounding rule)
    year: int
    meeting_type: str
    frame: Any
    expect: dict[str, Any] = field(default_factory=dict)
    citations: list[dict] = field(default_factory=list)
    source_texts: dict[str, str] = field(default_factory=dict)
    reference: ShingleIndex | None = None


def draft_metrics(text: str, inp: DraftInputs) -> tuple[dict[str, float | None], dict[str, Any]]:
    """All per-draft metrics and the details behind them (missing facts, banned hits, findings…)."""
    report = critique(text, year=inp.year, meeting_type=inp.meeting_type, frame=inp.frame, known_text=inp.known)
    unsupported_tokens = draft_unsupported(text, inp.known)
    doc = parse(text, [k for a in inp.frame.aspects for k in a.keywords])
    problems, causes, measures = (real_items(doc, k) for k in MAIN_ORDER)
    coverage, missing = fact_coverage(text, inp.facts, inp.expect.get("facts_used", []))
    banned = must_not_hits(text, inp.expect.get("must_not_contain", []))
    sim, sim_source = max_similarity([text[a:b] for a, b in (doc.to_original(*p) for p in doc.paragraphs)],
                                     inp.reference)
    review = review_metrics(doc, text, inp, problems, causes, measures)
    metrics: dict[str, float | None] = {
        "structure.parts": parts_present(doc, required_parts(inp.frame)),
        "structure.order": parts_in_order(doc),
        "structure.aspects": aspect_coverage(text, inp.expect.get("aspects") or [a.name for a in inp.frame.aspects]),
        "structure.numbering_errors": rule_count(report, "form.heading_sequence"),
        "grounding.fact_coverage": coverage,
        "grounding.unsupported": len(unsupported_tokens),
        "grounding.must_not": len(banned),
        "grounding.citations_valid": citations_valid(inp.citations, inp.source_texts),
        "specificity.anchored": anchored_share(problems),
        "specificity.cliche_per_k": per_thousand(rule_count(report, "generic.cliche", "copied.official_wording"), text),
        "specificity.hedge_per_k": per_thousand(rule_count(report, "hedge.softening"), text),
        "specificity.measures_complete": measures_complete(measures, inp.meeting_type),
        **linkage(problems, causes, measures),
        "originality.max_sim_kb": sim,
        **critic_counts(report),
        "gaps.count": len(GAP_MARK.findall(text)),
        "gaps.expected_marked": expected_gaps_marked(doc, inp.expect.get("gaps_expected", [])),
        **{k: v for k, v in review.items() if not k.startswith("_")},
    }
    details = {
        "facts_missing": missing,
        "must_not_hits": banned,
        "unsupported": unsupported_tokens,
        "review": {k[1:]: v for k, v in review.items() if k.startswith("_")},
        "similar_source": sim_source,
        "findings": [{"rule": f.rule, "level": f.level, "quote": f.quote, "message": f.message}
                     for f in report.findings],
        "counts": {"problems": len(problems), "causes": len(causes), "measures": len(measures)},
    }
    return metrics, details


def review_metrics(doc: ParsedDraft, text: str, inp: DraftInputs, problems: list[str], causes: list[str],
                   measures: list[str]) -> dict[str, Any]:
    """The reviewer checks (:mod:`rag.evals.review_checks`); keys starting with _ are details."""
    expect = inp.expect
    real_problems = [p for p in problems if not rc.is_gap(p)]
    real_causes = [c for c in causes if not rc.is_gap(c)]
    real_measures = [m for m in measures if not rc.is_gap(m)]
    avoidable = rc.avoidable_gaps(doc, expect.get("aspects_filled", [])) if "aspects_filled" in expect else []
    placed, misplaced = rc.placement(doc, inp.facts, expect.get("placement") or {})
    fact_texts = list(inp.facts.values())
    all_causes = rc.items(doc, "causes")
    repeated = rc.repeated_clauses(real_measures)
    fragments = rc.fragments(text)
    voice = rc.wrong_voice(doc, inp.meeting_type)
    known = "。".join(fact_texts + problems)
    bent = [(p, rc.dingxing_bent(p)) for p in real_problems]
    against = [(c, rc.cause_against_facts(c, known)) for c in real_causes]
    return {
        "review.avoidable_gaps": len(avoidable) if "aspects_filled" in expect else None,
        "review.placement": placed,
        "review.dingxing": _share(sum(rc.has_dingxing(p) for p in real_problems), len(real_problems)),
        "review.causes_left": _share(sum(rc.cause_left(t) for _, t in all_causes), len(all_causes)),
        "review.causes_listing": sum(rc.cause_listing(c) for c in real_causes),
        "review.causes_blame": sum(rc.cause_blames(c) for c in real_causes),
        "review.causes_consequence": sum(rc.cause_consequence(c) for c in real_causes),
        "review.causes_no_fault": sum(rc.cause_no_fault(c) for c in real_causes),
        "review.causes_unfounded": sum(bool(rc.cause_unfounded(c, known)) for c in real_causes),
        "review.causes_right_view": sum(rc.cause_right_view(c) for c in real_causes),
        "review.causes_against_facts": sum(bool(why) for _, why in against),
        "review.dingxing_bent": sum(bool(why) for _, why in bent),
        "review.soft_verdict": sum(rc.soft_verdict(p) for p in real_problems),
        "review.other_subject": sum(rc.other_subject(p) for p in real_problems),
        "review.shared_clauses": len(rc.repeated_clauses(real_measures, times=2)),
        "review.claimed": sum(rc.claimed(m) for m in real_measures),
        "review.repeated_clauses": len(repeated),
        "review.measure_object": _share(sum(rc.names_object(m, real_problems) for m in real_measures),
                                        len(real_measures)),
        "review.numeric_targets": sum(rc.numeric_target(m, fact_texts) for m in real_measures),
        "review.fragments": len(fragments),
        "review.wrong_voice": len(voice),
        "_avoidable_gaps": avoidable, "_misplaced": misplaced, "_repeated": repeated, "_fragments": fragments,
        "_wrong_voice": voice,
        "_unfounded": [w for c in real_causes for w in rc.cause_unfounded(c, known)],
        "_no_dingxing": [p[:30] for p in real_problems if not rc.has_dingxing(p)],
        "_dingxing_bent": [f"{why}：{p[:30]}" for p, why in bent if why],
        "_causes_against_facts": [f"{why}：{c[:30]}" for c, why in against if why],
        "_claimed": [m[:40] for m in real_measures if rc.claimed(m)],
    }
