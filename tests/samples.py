"""Sample texts shared by the UI, browser and .docx tests."""

WEAK = (
    "某局领导班子2025年度民主生活会对照检查材料\n"
    "一、存在的问题\n"
    "一是学习不够深入系统，思想认识不到位，工作作风不够扎实。有时对群众诉求回应不及时。\n"
    "二、原因分析\n"
    "理想信念有所松懈、宗旨意识有所淡化、党性修养有所放松。\n"
    "三、整改措施\n"
    "进一步加强学习，切实提高能力。"
)

MINI_TITLE = "岚溪县文化广电旅游体育局领导班子2025年度民主生活会对照检查材料"

SLOT = {  # one answer that validates as problem, cause and measure slots alike
    "fact_ids": ["F1"], "problem_ids": ["P1"], "summary": "服务群众的精准度不够",
    "instance": "2025年“送戏下乡”演出48场，其中19场安排在农忙时节，观众不足30人",
    "reflection": "反映出班子联系群众不够紧密", "dimension": "宗旨意识",
    "text": "宗旨意识树得不牢，对群众需求调研不深入，把完成场次当成目标",
    "action": "重新编排送戏下乡计划，避开农忙时节，每场演出前征求乡镇文化站意见",
    "result": "形成2026年送戏下乡排期清单", "owner": "分管副局长牵头、公共服务股具体落实",
}
