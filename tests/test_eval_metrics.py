"""Every drafting metric on hand-made inputs, each on a case where it passes and one where it fails."""

from __future__ import annotations

import pytest

from rag.critic.parse import parse
from rag.critic.similarity import ShingleIndex
from rag.evals import metrics as M
from rag.frames import get_frame

GOOD = """岚溪县某局领导班子2025年度民主生活会对照检查材料

一、上年度民主生活会整改落实情况
2024年度查摆问题8个，已完成7个。

二、存在的问题
（一）在强化政治忠诚、提高政治能力上带头方面
一是2025年中心组集中学习12次，其中9次以领读文件为主，研讨没有联系河湖长制工作。
二是5月中旬才印发供水保障实施方案，比全市平均进度晚3周。

三、反面典型案例剖析
对照邻县宋某某案，班子查找出工程项目全流程由同一科室经办的风险。

四、原因剖析
（一）理论武装的自觉性不强，党性锤炼有差距。把学习当作规定动作，没有联系河湖长制研讨和供水保障部署。

五、整改措施
（一）由办公室牵头，重新制定中心组学习计划，每次研讨围绕河湖长制确定1个议题，2026年3月底前完成。
（二）由局长牵头，建立重点工作进度台账，供水保障实施方案等部署每月通报进度，2026年6月底前完成。
"""

WEAK = """某局2025年度对照检查材料
一、存在的问题
一是学习不够深入系统，思想认识不到位，工作作风不够扎实，创新意识不强。有时对群众诉求回应不及时。
二、整改措施
进一步加强学习，切实提高能力。
三、原因分析
理想信念有所松懈。
"""


@pytest.fixture(scope="module")
def frame():
    return get_frame("2025-minzhu-wugedaitou")


def test_required_parts_follow_the_frame(frame):
    assert M.required_parts(frame) == ["problems", "causes", "measures", "rectification", "case"]


def test_parts_present_and_order(frame):
    good, weak = parse(GOOD), parse(WEAK)
    assert M.parts_present(good, M.required_parts(frame)) == 1.0
    assert M.parts_present(weak, M.required_parts(frame)) == 0.6
    assert M.parts_in_order(good) == 1.0
    assert M.parts_in_order(weak) == 0.0  # 措施 before 原因


def test_aspect_coverage():
    aspects = ["在强化政治忠诚、提高政治能力上带头", "在固本培元、增强党性上带头"]
    assert M.aspect_coverage(GOOD, aspects) == 0.5
    assert M.aspect_coverage(WEAK, aspects) == 0.0
    assert M.aspect_coverage("理论学习方面存在差距", ["理论学习方面"]) == 1.0


def test_fact_used_needs_more_than_a_shared_number():
    fact = "2025年中心组集中学习12次，其中9次以领读文件为主"
    assert M.fact_used(GOOD, fact)
    assert not M.fact_used("全年共开展12次检查，2025年完成9项。", fact)
    assert not M.fact_used(GOOD, "2023年组织青年干部赴延安开展党性教育")


def test_fact_coverage_lists_missing_ids():
    facts = {"F1": "5月中旬才印发供水保障实施方案，比全市平均进度晚3周", "F2": "食堂采购未经集体研究"}
    share, missing = M.fact_coverage(GOOD, facts, ["F1", "F2"])
    assert share == 0.5 and missing == ["F2"]
    assert M.fact_coverage(GOOD, facts, [])[0] is None


def test_must_not_hits():
    assert M.must_not_hits(WEAK, ["有所", "四个带头", "有时"]) == ["有所", "有时"]
    assert M.must_not_hits(GOOD, ["有所", "四个带头"]) == []


def test_citations_valid():
    sources = {"policy/a.md": M.cjk("民主生活会要把自己摆进去，把职责摆进去，把工作摆进去。")}
    ok = {"source": "policy/a.md", "text": "把自己摆进去，把职责摆进去"}
    wrong_text = {"source": "policy/a.md", "text": "必须每月召开一次"}
    wrong_source = {"source": "policy/b.md", "text": "把自己摆进去"}
    assert M.citations_valid([ok], sources) == 1.0
    assert M.citations_valid([ok, wrong_text, wrong_source], sources) == pytest.approx(0.333, abs=1e-3)
    assert M.citations_valid([], sources) is None


def test_anchored_share():
    assert M.anchored_share(["一是2025年缺课3次。", "二是学习不够深入。"]) == 0.5
    assert M.anchored_share(["二是学习不够深入。"]) == 0.0


def test_measures_complete_depends_on_meeting_type():
    full = "由办公室牵头，建立学习台账，2026年3月底前完成。"
    no_owner = "建立学习台账，2026年3月底前完成。"
    no_deadline = "由办公室牵头，建立学习台账。"
    assert M.measures_complete([full, no_owner, no_deadline], "班子") == pytest.approx(0.333, abs=1e-3)
    assert M.measures_complete([no_owner], "个人") == 1.0  # the writer owns a personal measure


def test_linkage_and_orphans():
    problems = ["一是5月中旬才印发供水保障实施方案，比全市平均进度晚3周。", "二是防汛隐患点整治不彻底，5处未完成。"]
    causes = ["对供水保障工作紧迫性认识不足，党性修养放松。"]
    measures = ["由局长牵头，对供水保障实施方案建立进度台账，每月通报。", "由办公室牵头，修订公文处理办法。"]
    got = M.linkage(problems, causes, measures)
    assert got["linkage.problem_measure"] == 0.5
    assert got["linkage.problem_cause"] == 0.5
    assert got["linkage.orphan_measures"] == 0.5
    assert M.linkage([], [], measures)["linkage.orphan_measures"] == 1.0


def test_max_similarity_names_the_source():
    idx = ShingleIndex(threshold=0.3)
    ref = "班子成员之间顾及情面，把一团和气当作团结，反映出党性修养上的好人主义思想，批评少、警示教育流于参观。"
    idx.add("k1", ref, {"source": "exemplars/x.md"})
    copied, src = M.max_similarity([ref], idx)
    assert copied > 0.9 and src == "exemplars/x.md"
    own, _ = M.max_similarity(["2025年中心组集中学习12次，其中9次以领读文件为主，研讨没有联系河湖长制工作。"], idx)
    assert own < 0.2
    assert M.max_similarity([ref], None) == (None, "")


def test_within_run_similarity():
    a = GOOD
    sims = M.within_run_similarity([a, a, WEAK])
    assert sims[0] == sims[1] == 1.0 and sims[2] < 0.3
    assert M.within_run_similarity([a]) == [None]


def test_per_thousand_and_gap_markers():
    assert M.per_thousand(2, "字" * 500) == 4.0
    assert M.per_thousand(1, "") == 0.0
    text = "一是【请补充：理论学习方面的具体事例】。二是2025年缺课【待核实】次。"
    assert len(M.GAP_MARK.findall(text)) == 2
    assert M.real_items(parse("一、存在的问题\n一是【请补充：具体事例】\n二是2025年缺课3次。"), "problems") == ["二是2025年缺课3次。"]


def test_expected_gaps_marked():
    doc = parse("一、存在的问题\n（一）理论学习方面\n一是【请补充：理论学习方面的具体事例】\n（二）工作作风方面\n一是2025年下乡4次。")
    assert M.expected_gaps_marked(doc, ["理论学习方面"]) == 1.0
    assert M.expected_gaps_marked(doc, ["工作作风方面"]) == 0.0
    assert M.expected_gaps_marked(doc, []) is None


def test_draft_metrics_separate_good_from_weak(frame):
    inp = M.DraftInputs(facts={"F1": "2025年中心组集中学习12次，其中9次以领读文件为主"}, known=GOOD, year=2025,
                        meeting_type="班子", frame=frame, expect={"facts_used": ["F1"], "must_not_contain": ["有所"]})
    good, _ = M.draft_metrics(GOOD, inp)
    weak, details = M.draft_metrics(WEAK, inp)
    assert good["structure.parts"] > weak["structure.parts"]
    assert good["grounding.fact_coverage"] == 1.0 and weak["grounding.fact_coverage"] == 0.0
    assert good["grounding.must_not"] == 0 and weak["grounding.must_not"] == 1
    assert good["specificity.anchored"] == 1.0 and weak["specificity.anchored"] == 0.0
    assert good["specificity.measures_complete"] == 1.0 and weak["specificity.measures_complete"] == 0.0
    assert weak["specificity.cliche_per_k"] > good["specificity.cliche_per_k"]
    assert weak["specificity.hedge_per_k"] > 0 == good["specificity.hedge_per_k"]
    assert weak["critic.errors"] > good["critic.errors"]
    assert details["must_not_hits"] == ["有所"]


def test_unsupported_tokens_are_counted(frame):
    inp = M.DraftInputs(facts={}, known="2025年中心组集中学习12次", year=2025, meeting_type="班子", frame=frame)
    text = "一、存在的问题\n一是2025年中心组集中学习12次，缺课7次。\n二、原因分析\n党性修养放松。\n三、整改措施\n由办公室牵头，2026年3月底前建立台账。"
    metrics, details = M.draft_metrics(text, inp)
    assert metrics["grounding.unsupported"] >= 1
    assert any("7" in q for q in details["unsupported"])


def test_every_metric_has_a_known_direction():
    assert all(m.direction in (1, -1) and m.tolerance >= 0 for m in M.METRICS.values())
