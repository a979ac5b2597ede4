"""The reviewer checks (rag/evals/review_checks.py): each one fails on hand-made text that has the fault a
strict 组织部 reviewer sends a draft back for, and passes text written the way the genre asks."""

from __future__ import annotations

from rag.critic.parse import parse
from rag.evals import review_checks as rc

GOOD = """岚溪县某局领导班子2025年度民主生活会对照检查材料

按照要求，班子围绕两个方面查摆问题。现报告如下。

一、存在的问题
（一）在强化政治忠诚方面
一是贯彻上级部署还不够及时。2025年6月才研究制定高标准农田建设落实方案，比县里要求晚了两个月。
（二）在担当作为方面
一是推进重点项目的劲头不足。2025年计划新建高标准农田2.6万亩，年底实际完成2.1万亩。

二、原因剖析
一是政治站位还不够高。班子认为上级部署按部就班执行就行，没有把及时落实当作政治要求来对待。贯彻上级部署还不够及时的问题，根子就在这里。

三、整改措施
1.对照县里的时间要求倒排高标准农田建设计划，剩余0.5万亩建设任务在汛前全部开工。由分管班子成员牵头，2026年6月底前完成。
"""

FACTS = ["2025年计划新建高标准农田2.6万亩，年底实际完成2.1万亩。"]


def test_dingxing_needs_a_short_heading_that_names_a_shortcoming():
    assert rc.has_dingxing("一是贯彻上级部署还不够及时。2025年6月才研究制定落实方案。")
    assert not rc.has_dingxing("一是2025年6月才研究制定落实方案，比要求晚了两个月。")  # a bare fact
    assert not rc.has_dingxing("一是居民反映，社区停车难的问题一直没有解决。")  # a complaint pasted in


def test_soft_verdict_and_other_subject_in_the_dingxing():
    assert rc.soft_verdict("二是协调能力有待提高。全年只协调解决3件。")
    assert not rc.soft_verdict("二是协调推动工作的担当不够。全年只协调解决3件。")
    assert rc.other_subject("二是业务股室的沟通不畅。基层反映股室推诿。")
    assert not rc.other_subject("二是班子对业务股室推诿的问题督促不够。基层反映股室推诿。")


def test_cause_checks():
    tautology = "一是群众观念不强。工作推进不够有力、村务公开不够透明等问题，说明宗旨意识不强。"
    assert rc.cause_listing(tautology)
    good = "一是宗旨意识淡化了。班子认为听汇报就能掌握情况，同群众面对面打交道少了。这些问题，根子都在这里。"
    assert not rc.cause_listing(good) and not rc.cause_blames(good)
    assert not rc.cause_consequence(good) and not rc.cause_no_fault(good)
    assert rc.cause_blames("二是纪律意识淡薄。一些员工对制度的重要性认识不足，他们认为小节无碍大局。")
    assert rc.cause_blames("二是管党治党责任扛得不紧。学校党组织书记没有履行这个职责。")
    assert rc.cause_consequence("三是担当不够。班子对项目监管认识不到位，导致一些项目推进不力。")
    assert rc.cause_no_fault("四是纪律规矩意识。班子认为执行中央八项规定精神是严肃的政治任务，始终放在首位。")
    assert rc.cause_left("五是政绩观有偏差。【请选择或填写：这些问题在思想上的根子】")


def test_cause_unfounded_and_right_view():
    facts = "我对办公室年轻干部批评多、帮带少；2025年有2名年轻干部提出调岗。"
    invented = "三是管党治党责任扛得不紧。我认为他们都是经验丰富的老干部，不需要再进行廉政教育。根子都在这里。"
    assert rc.cause_unfounded(invented, facts) == ["经验丰富", "老干部"]
    fits = "三是管党治党责任扛得不紧。我对年轻干部的培养认识不到位，重使用、轻帮带，失之于宽松软。根子都在这里。"
    assert rc.cause_unfounded(fits, facts) == []
    assert rc.cause_right_view("二是宗旨意识不牢。我认为调研应该深入，不能只停留在表面。根子就在这里。")
    assert not rc.cause_right_view(fits)


def test_measure_checks():
    assert rc.claimed("1.修订考评办法，考评办法已更新，职责问题已解决。")
    assert not rc.claimed("1.修订考评办法，把群众满意度列入考评。")
    template = "加强学习，建立整改台账、逐项销号"
    measures = [f"{i}.{x}，{template}。" for i, x in enumerate(["规范会议", "修订制度", "补齐台账"], start=1)]
    assert rc.repeated_clauses(measures) == ["建立整改台账、逐项销号"]
    assert rc.repeated_clauses(measures[:2]) == []
    assert rc.repeated_clauses(measures[:2], times=2) == ["建立整改台账、逐项销号"]  # the rotating stock ending
    problems = ["一是推进重点项目的劲头不足。高标准农田年底实际完成2.1万亩。"]
    assert rc.names_object("1.倒排高标准农田建设计划。", problems)
    assert not rc.names_object("1.进一步加强学习，提高政治站位。", problems)
    assert rc.numeric_target("1.剩余0.5万亩建设任务全部开工，2026年6月底前完成。", FACTS)  # 2.6 − 2.1
    assert not rc.numeric_target("1.加快建设进度，2026年6月底前完成。", FACTS)  # a date is no target


def test_language_checks():
    assert rc.fragments("班子对照对照党章党规查找差距。") == ["对照对照"]
    assert rc.fragments("收到意见后，们立即启动修订工作。")
    assert rc.fragments(GOOD) == []


def test_placement_gaps_and_voice_on_a_whole_draft():
    doc = parse(GOOD)
    assert rc.avoidable_gaps(doc, ["强化政治忠诚", "担当作为"]) == []
    gapped = parse(GOOD.replace("一是推进重点项目的劲头不足。2025年计划新建高标准农田2.6万亩，年底实际完成2.1万亩。",
                                "【请补充：担当作为方面的具体事例】"))
    assert rc.avoidable_gaps(gapped, ["强化政治忠诚", "担当作为"]) == ["担当作为"]
    facts = {"F1": FACTS[0]}
    assert rc.placement(doc, facts, {"F1": ["担当作为"]}) == (1.0, [])
    assert rc.placement(doc, facts, {"F1": ["强化政治忠诚"]}) == (0.0, ["F1"])
    assert rc.wrong_voice(doc, "班子") == []
    assert rc.wrong_voice(parse(GOOD.replace("班子认为", "我认为")), "班子") == ["我"]


def test_bent_dingxing_and_causes_against_the_facts():
    """The round-4 reviewer's faults as eval metrics: a 定性 that turns too many into not enough or names the
    finder, a grave fact named mildly; a cause that contradicts itself or the facts or invents a behaviour."""
    bent = "一是专项检查频次还不够。2025年局里对同一所学校的专项检查最多达到9次，全年督查次数比上年增加40%。"
    finder = "二是教研室听课抽查不够严格。2025年区教研室听课抽查发现，学校党员教师有3人课堂教学敷衍。"
    mild = "三是会议沟通不够充分。党组会研究人员调整方案时我表示同意，会后又向2名所长透露“方案还会变”。"
    fair = "四是督查检查统筹不够，基层迎检负担重。2025年局里对同一所学校的专项检查最多达到9次。"
    assert [rc.dingxing_bent(t) for t in (bent, finder, mild, fair)] == ["太多写成不够", "发现方成了主语", "组织原则", None]
    known = "2025年审计发现单位违规发放加班补贴8.6万元。2024年建成调解工作室4个，之后我没有再跟进。"
    assert rc.cause_against_facts("一是纪律意识不强。班子觉得只要不违规就行，对财经纪律的敬畏松了。", known)
    assert rc.cause_against_facts("二是担当不够。我遇到协调不下来的事就往上交、往后拖，担当精神弱化了。", known)
    assert rc.cause_against_facts("三是学用脱节。班子认为理论学习是硬任务、业务工作是软任务，工作一忙就先让学习让路。", known)
    assert not rc.cause_against_facts("四是纪律意识不强。班子把发放补贴看成小事，对财经纪律的敬畏在细节上松了。", known)
