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
