"""CLI commands with the fake model and without the knowledge base."""

import json

from typer.testing import CliRunner

from rag.cli import app

runner = CliRunner()
WEAK = "一、存在的问题\n一是学习不够深入系统，思想认识不到位，工作作风不够扎实，创新意识不强。\n三、整改措施\n1.进一步加强学习。\n"


def test_critique_json_and_exit_code(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text(WEAK, encoding="utf-8")
    res = runner.invoke(app, ["critique", str(f), "--format", "json", "--no-kb", "--year", "2025",
                              "--meeting-type", "班子"])
    assert res.exit_code == 1  # error-level findings gate a batch
    data = json.loads(res.stdout)
    rules = {x["rule"] for x in data["findings"]}
    assert "measure.no_deadline" in rules and "generic.cliche" in rules
    assert set(data["findings"][0]) >= {"rule", "level", "part", "start", "end", "quote", "message", "suggestion"}


def test_critique_rejects_bad_meeting_type(tmp_path):
    f = tmp_path / "d.txt"
    f.write_text("一是2025年缺课2次。", encoding="utf-8")
    res = runner.invoke(app, ["critique", str(f), "--meeting-type", "单位", "--no-kb"])
    assert res.exit_code == 2 and "材料类型" in res.stderr


def test_draft_with_fake_model_writes_markdown(tmp_path):
    out = tmp_path / "draft.md"
    res = runner.invoke(app, ["draft", "examples/facts/mini.yaml", "--model", "fake", "--no-kb", "-o", str(out)])
    assert res.exit_code == 2  # the fake model's default answer fits no slot: a clear Chinese error
    assert "不合格" in res.stderr


def test_draft_reports_bad_facts_in_chinese(tmp_path):
    bad = tmp_path / "f.yaml"
    bad.write_text("unit: 某局\nmeeting_type: 科室\n", encoding="utf-8")
    res = runner.invoke(app, ["draft", str(bad), "--model", "fake", "--no-kb"])
    assert res.exit_code == 2 and "材料类型" in res.stderr


def test_critique_with_facts_checks_every_claim(tmp_path):
    draft = tmp_path / "草稿.txt"
    draft.write_text("一、存在的问题\n一是学用结合还不够紧密。2025年局党组理论学习中心组集中学习10次，另有9次只念了文件，"
                     "局长王建国未到场。\n", encoding="utf-8")
    res = runner.invoke(app, ["critique", str(draft), "--no-kb", "--facts",
                              "evals/datasets/facts/v2/banzi-2025-qingyi-shuili.yaml"])
    assert res.exit_code == 1
    assert "“9次”在事实材料中找不到" in res.stdout and "“王建国”在事实材料中找不到" in res.stdout
    assert "“10次”" not in res.stdout  # the facts hold it
    plain = runner.invoke(app, ["critique", str(draft), "--no-kb"])
    assert "grounding" not in plain.stdout  # without facts there is nothing to check against


def test_critique_accepts_the_users_own_frame_file(tmp_path):
    frame = tmp_path / "专题.yaml"
    frame.write_text("name: 2025年巡察整改专题组织生活会\nmeeting: 专题组织生活会\nmeeting_types: [支部]\nyears: [2025]\n"
                     "aspects:\n  - name: 对照党章党规，查找支部政治功能方面的差距\n    keywords: [政治功能]\n",
                     encoding="utf-8")
    draft = tmp_path / "草稿.txt"
    draft.write_text("某支部2025年巡察整改专题组织生活会对照检查材料\n\n一、存在的问题\n（一）对照党章党规，查找支部政治功能方面的差距\n"
                     "一是支部议事不规范。2025年支委会有3次没有记录。\n", encoding="utf-8")
    res = runner.invoke(app, ["critique", str(draft), "--no-kb", "--frame", str(frame), "--year", "2025",
                              "--meeting-type", "支部", "--format", "json"])
    assert res.exit_code in (0, 1), res.stderr
    assert "2025年巡察整改专题组织生活会" in res.stdout and "meeting.special_name" not in res.stdout
    bad = tmp_path / "坏.yaml"
    bad.write_text("name: x\n", encoding="utf-8")
    res = runner.invoke(app, ["critique", str(draft), "--no-kb", "--frame", str(bad)])
    assert res.exit_code == 2 and "框架文件" in res.stderr


def test_frames_list_show_and_check(tmp_path):
    listed = runner.invoke(app, ["frames", "list"])
    assert listed.exit_code == 0 and "2025-minzhu-wugedaitou" in listed.stdout
    shown = runner.invoke(app, ["frames", "show", "2025-minzhu-wugedaitou"])
    assert shown.exit_code == 0 and "固本培元" in shown.stdout
    own = tmp_path / "专题.yaml"
    own.write_text("name: 2025年巡察整改专题组织生活会\nmeeting: 专题组织生活会\nmeeting_types: [支部]\nyears: [2025]\n"
                   "aspects:\n  - name: 对照党章党规，查找支部政治功能方面的差距\n", encoding="utf-8")
    checked = runner.invoke(app, ["frames", "check", str(own)])
    assert checked.exit_code == 0 and "专题会议" in checked.stdout and "没有关键词" in checked.stdout
    bad = tmp_path / "坏.yaml"
    bad.write_text("name: 缺方面\nmeeting: 组织生活会\n", encoding="utf-8")
    res = runner.invoke(app, ["frames", "check", str(bad)])
    assert res.exit_code == 2 and "aspects" in res.stderr
