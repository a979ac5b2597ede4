"""The eval runner, datasets, reports and comparisons, with scripted and fault-injected models."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from rag.cli import app
from rag.errors import InputError, LLMError
from rag.evals import datasets as D
from rag.evals.compare import compare_runs
from rag.evals.critic_quality import evaluate_dataset
from rag.evals.judge import judge_draft
from rag.evals.report import render_csv, render_html, verdict
from rag.evals.runner import RunResult, load_run, run_eval, save_baseline
from rag.evals.scripted import ScriptedChatModel, draft_responder
from rag.llm.fake import FakeChatModel
from rag.llm.testing_server import FakeOpenAIServer

ROOT = Path(__file__).resolve().parent.parent
TWO = ["banzi-2025-full", "geren-2025-full"]


def _write(path: Path, data) -> Path:
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


# ----------------------------------------------------------------------------------------- datasets

def test_shipped_datasets_are_valid_and_broad():
    drafting = D.load_dataset("drafting")
    assert drafting.kind == "drafting" and len(drafting.cases) >= 12
    from rag.draft.facts import load_facts

    facts = [load_facts(ROOT / c["facts"]) for c in drafting.cases]
    assert {f.meeting_type for f in facts} == {"班子", "个人", "支部"}
    assert len({f.year for f in facts}) >= 3
    critique = D.load_dataset("critique_dev")
    assert critique.kind == "critique" and len(critique.cases) >= 25


@pytest.mark.parametrize("data, words", [
    ({"version": 1, "cases": [{"id": "a", "facts": "examples/facts/mini.yaml"}]}, "缺少必填字段"),
    ([{"id": "a", "text": "正文", "expected": [{"family": "nonsense"}]}], "不符合要求"),
    ([{"id": "a", "text": "正文", "expected": [], "year": "二〇二五"}], "不符合要求"),
])
def test_invalid_datasets_get_chinese_errors(tmp_path, data, words):
    with pytest.raises(InputError) as err:
        D.load_dataset(_write(tmp_path / "bad.yaml", data))
    assert "数据集格式不正确" in err.value.message and words in err.value.message
    assert "schema.json" in err.value.hint


def test_duplicate_ids_missing_facts_and_syntax_errors(tmp_path):
    with pytest.raises(InputError, match="用例编号重复"):
        D.load_dataset(_write(tmp_path / "dup.yaml", [{"id": "a", "text": "x", "expected": []}] * 2))
    expect = {"aspects": ["甲"], "facts_used": [], "must_not_contain": [], "gaps_expected": []}
    with pytest.raises(InputError, match="事实文件不存在"):
        D.load_dataset(_write(tmp_path / "nf.yaml", {"version": 1, "cases": [
            {"id": "a", "facts": "examples/facts/nope.yaml", "expect": expect}]}))
    (tmp_path / "broken.yaml").write_text("cases: [\n  - id: a\n", encoding="utf-8")
    with pytest.raises(InputError, match="语法错误"):
        D.load_dataset(tmp_path / "broken.yaml")
    (tmp_path / "gbk.yaml").write_bytes("- id: 甲\n".encode("gbk"))
    with pytest.raises(InputError, match="UTF-8"):
        D.load_dataset(tmp_path / "gbk.yaml")


def test_add_dataset_validates_before_copying(tmp_path):
    good = _write(tmp_path / "mine.yaml", [{"id": "a", "text": "一是有时学习不深入。", "expected": [{"family": "hedge"}]}])
    target = D.add_dataset(good)
    assert target.parent == D.user_datasets_dir() and target in D.list_datasets()
    with pytest.raises(InputError):
        D.add_dataset(b"- id: b\n  text: 1\n", "bad.yaml")
    assert not (D.user_datasets_dir() / "bad.yaml").exists()
    assert not list(D.user_datasets_dir().glob(".*.tmp"))
    with pytest.raises(InputError, match="找不到数据集"):
        D.load_dataset("no-such-dataset")


# ----------------------------------------------------------------------------------------- critique runs

def test_critique_run_agrees_with_the_critic_eval():
    result = run_eval("critique_dev")
    expected, _ = evaluate_dataset(ROOT / "evals/datasets/critique_dev.yaml")
    got = result.summary["critic"]["overall"]
    assert (got["tp"], got["fp"], got["found"], got["labels"]) == (
        expected["overall"]["tp"], expected["overall"]["fp"], expected["overall"]["found"], expected["overall"]["labels"])
    assert result.summary["systems"]["critic"]["metrics"]["critic.precision"] == round(expected["overall"]["precision"], 3)
    assert len((result.path / "cases.jsonl").read_text(encoding="utf-8").splitlines()) == len(result.records)


# ----------------------------------------------------------------------------------------- drafting runs

def test_drafting_run_side_by_side_and_cached():
    model = ScriptedChatModel()
    first = run_eval("drafting", model=model, model_label="scripted", case_ids=TWO)
    assert {(r["case"], r["system"]) for r in first.records} == {(c, s) for c in TWO for s in ("pipeline", "naive")}
    assert set(first.summary["systems"]) == {"pipeline", "naive"}
    assert all(not r["error"] and r["metrics"] for r in first.records)
    calls = len(model.history)
    assert calls > 4
    again = run_eval("drafting", model=model, model_label="scripted", case_ids=TWO)
    assert len(model.history) == calls  # everything came from the cache
    assert all(r["cached"] for r in again.records)
    strip = lambda rs: [{k: v for k, v in r.items() if k != "cached"} for r in rs]  # noqa: E731
    assert strip(again.records) == strip(first.records)
    other = run_eval("drafting", model=model, model_label="another-model", case_ids=TWO[:1], systems=["naive"])
    assert len(model.history) == calls + 1  # a different configuration is not served from the cache
    assert other.records[0]["system"] == "naive"


def test_naive_baseline_is_one_unguarded_prompt():
    model = FakeChatModel(responses=["一、存在的问题\n一是2025年学习缺课99次。\n二、原因分析\n党性不强。\n三、整改措施\n加强学习。"])
    result = run_eval("drafting", model=model, model_label="fake", case_ids=TWO[:1], systems=["naive"])
    assert len(model.history) == 1
    from rag.evals.runner import case_facts

    prompt = model.history[0][-1].content
    facts = case_facts(D.load_dataset("drafting").select(TWO[:1]).cases[0])
    assert all(f.text in prompt for f in facts.facts)
    rec = result.records[0]
    assert "99次" in rec["text"]  # no guard in the baseline
    assert rec["metrics"]["grounding.unsupported"] >= 1


class Flaky(ScriptedChatModel):
    """Fails every call whose prompt contains ``unit`` (a word that singles out one case)."""

    unit: str = ""

    def _next_text(self, messages, stop, kwargs):
        if self.unit and any(self.unit in str(m.content) for m in messages):
            raise LLMError("模型服务超时", "请稍后重试")
        return super()._next_text(messages, stop, kwargs)


def test_failed_case_is_recorded_and_rerun_resumes(tmp_path):
    ds = D.load_dataset("drafting").select(TWO)
    unit = "用“我”来写"  # only the second case (a 个人 material) has this in its prompts
    flaky = Flaky(unit=unit)
    first = run_eval(ds, model=flaky, model_label="m", run_id="resume-me")
    failed = [r for r in first.records if r["error"]]
    assert failed and all(r["case"] == TWO[1] for r in failed)
    assert "超时" in failed[0]["error"]
    assert first.summary["systems"]["pipeline"]["errors"] == 1
    good = ScriptedChatModel()
    second = run_eval(ds, model=good, model_label="m", run_id="resume-me")
    assert not any(r["error"] for r in second.records)
    assert good.history and all(any(unit in str(m.content) for m in h) for h in good.history)  # only the failed case
    assert len(second.records) == 4


def test_concurrent_calls_overlap_on_a_remote_endpoint():
    from langchain_openai import ChatOpenAI

    state = {"now": 0, "max": 0}
    lock = threading.Lock()

    def responder(messages):
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return draft_responder(messages)

    with FakeOpenAIServer(responder=responder) as srv:
        model = ChatOpenAI(base_url=srv.base_url, api_key="t", model="fake", max_retries=0, timeout=20)
        result = run_eval("drafting", model=model, model_label="srv", systems=["naive"], concurrency=4,
                          case_ids=[c["id"] for c in D.load_dataset("drafting").cases[:6]])
    assert len(result.records) == 6 and not any(r["error"] for r in result.records)
    assert state["max"] > 1


def test_killed_run_loses_nothing(tmp_path):
    """A run killed mid-way keeps its finished cases; re-running the same run id completes the rest."""
    release = threading.Event()
    answered = {"n": 0}

    def responder(messages):  # two cases answered, then the model hangs until the run is killed
        answered["n"] += 1
        if answered["n"] > 2:
            release.wait(120)
        return draft_responder(messages)

    with FakeOpenAIServer(responder=responder) as srv:
        env = {**os.environ, "ZHAOJING_LLM": "openai", "OPENAI_BASE_URL": srv.base_url, "OPENAI_API_KEY": "t",
               "ZHAOJING_DATA_DIR": os.environ["ZHAOJING_DATA_DIR"]}
        cmd = [sys.executable, "-m", "rag.cli", "eval", "run", "drafting", "--systems", "naive", "--no-kb",
               "--concurrency", "1", "--run-id", "killed", "--no-report"]
        proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        journal = Path(os.environ["ZHAOJING_DATA_DIR"]) / "evals" / "runs" / "killed" / "cases.jsonl"
        deadline = time.time() + 90
        while time.time() < deadline and (not journal.exists() or len(journal.read_text().splitlines()) < 2):
            time.sleep(0.1)
        proc.kill()
        proc.wait()
        release.set()
        kept = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
        assert len(kept) == 2
        before = len(srv.requests)
        from langchain_openai import ChatOpenAI

        model = ChatOpenAI(base_url=srv.base_url, api_key="t", model="fake", max_retries=0)
        done = run_eval("drafting", model=model, model_label="x", systems=["naive"], run_id="killed")
    assert len(done.records) == 14 and not any(r["error"] for r in done.records)
    assert len(srv.requests) - before == 14 - len(kept)
    assert {r["case"] for r in kept} <= {r["case"] for r in done.records}


# ----------------------------------------------------------------------------------------- judge

def test_judge_is_optional_and_failure_tolerant():
    verdicts = {"verdicts": [{"id": "R1", "passed": True, "reason": "有数字"}, {"id": "R2", "passed": False, "reason": "客观理由"},
                             {"id": "R9", "passed": True, "reason": "不在评审要点里"}]}
    got = judge_draft("一、存在的问题……", 2025, "班子", FakeChatModel(responses=[verdicts]))
    assert got["pass_rate"] == 0.5 and len(got["verdicts"]) == 2
    bad = judge_draft("草稿", 2025, "班子", FakeChatModel(responses=["不是 JSON", "还不是"]))
    assert "error" in bad
    result = run_eval("drafting", model=ScriptedChatModel(), model_label="s", case_ids=TWO[:1], systems=["naive"],
                      judge=FakeChatModel(responses=["乱码", "乱码"]))
    rec = result.records[0]
    assert not rec["error"] and rec["metrics"]["judge.pass_rate"] is None and "error" in rec["details"]["judge"]


# ----------------------------------------------------------------------------------------- compare

def _scripted_run() -> RunResult:
    return run_eval("drafting", model=ScriptedChatModel(), model_label="scripted", case_ids=TWO)


def test_compare_identical_runs_has_no_regression():
    a = _scripted_run()
    b = _scripted_run()
    cmp = compare_runs(a, b)
    assert not cmp.regressed and not cmp.case_regressions
    assert all(c.delta in (0, None) for c in cmp.changes if not c.metric.startswith("cost."))


def test_compare_flags_a_regression_beyond_tolerance():
    a = _scripted_run()
    b = copy.deepcopy(a)
    b.summary["systems"]["pipeline"]["metrics"]["grounding.fact_coverage"] -= 0.5
    b.records[0]["metrics"]["grounding.unsupported"] = 3
    cmp = compare_runs(a, b)
    assert [c.metric for c in cmp.regressions] == ["grounding.fact_coverage"]
    assert any(c.case == b.records[0]["case"] and c.metric == "grounding.unsupported" for c in cmp.case_regressions)
    small = copy.deepcopy(a)
    small.summary["systems"]["pipeline"]["metrics"]["grounding.fact_coverage"] -= 0.05  # within tolerance 0.15
    assert not compare_runs(a, small).regressed
    assert compare_runs(a, small, scale=0).regressed  # strict
    gone = copy.deepcopy(a)
    del gone.summary["systems"]["naive"]
    assert compare_runs(a, gone).regressed


def test_baseline_file_roundtrip_and_cli_gate(tmp_path):
    a = _scripted_run()
    path = save_baseline(a, tmp_path / "base.json")
    loaded = load_run(path)
    assert loaded.summary == json.loads(json.dumps(a.summary))
    assert "text" not in loaded.records[0]
    runner = CliRunner()
    ok = runner.invoke(app, ["eval", "compare", str(path), a.run_id])
    assert ok.exit_code == 0, ok.output
    assert "没有超出容差的退步" in ok.output
    worse = json.loads(path.read_text(encoding="utf-8"))
    worse["summary"]["systems"]["pipeline"]["metrics"]["grounding.fact_coverage"] = 1.5  # the baseline was better
    (tmp_path / "better.json").write_text(json.dumps(worse, ensure_ascii=False), encoding="utf-8")
    bad = runner.invoke(app, ["eval", "compare", str(tmp_path / "better.json"), a.run_id])
    assert bad.exit_code == 1 and "有退步" in bad.output
    missing = runner.invoke(app, ["eval", "compare", "nope", a.run_id])
    assert missing.exit_code == 2 and "找不到评测运行" in missing.output


# ----------------------------------------------------------------------------------------- reports

def test_html_report_is_self_contained_and_escaped():
    a = _scripted_run()
    a.records[0]["text"] += "\n<script>alert(1)</script>"
    page = render_html(a)
    assert "<svg" in page and a.run_id in page and all(c in page for c in TWO)
    assert "<script>alert" not in page and "&lt;script&gt;" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "") and "https://" not in page
    assert "流水线与朴素基线对比" in page and set(verdict(a.summary)) >= {"结构", "依据"}


def test_csv_export_has_a_row_per_case_and_system():
    a = _scripted_run()
    text = render_csv(a)
    assert text.startswith("\ufeff用例,对象")
    assert len(text.strip().splitlines()) == 1 + len(a.records)


def test_cli_run_report_and_list(tmp_path):
    runner = CliRunner()
    first = D.load_dataset("drafting").cases[0]["id"]
    res = runner.invoke(app, ["eval", "run", "drafting", "--model", "fake", "--cases", first, "--no-kb"])
    assert res.exit_code == 0, res.output
    run_dir = next((Path(os.environ["ZHAOJING_DATA_DIR"]) / "evals" / "runs").iterdir())
    assert (run_dir / "report.html").is_file() and (run_dir / "summary.json").is_file()
    out = runner.invoke(app, ["eval", "report", run_dir.name, "--csv", str(tmp_path / "r.csv")])
    assert out.exit_code == 0 and (tmp_path / "r.csv").read_text(encoding="utf-8").startswith("\ufeff")
    listed = runner.invoke(app, ["eval", "list"])
    assert run_dir.name in listed.output and "drafting.yaml" in listed.output


def test_compare_can_gate_selected_systems_only():
    a = _scripted_run()
    b = copy.deepcopy(a)
    b.summary["systems"]["naive"]["metrics"]["grounding.fact_coverage"] -= 0.9
    assert compare_runs(a, b).regressed
    assert not compare_runs(a, b, systems=["pipeline"]).regressed


def test_time_budget_stops_starting_cases_and_a_rerun_completes():
    model = ScriptedChatModel()
    none = run_eval("drafting", model=model, model_label="s", case_ids=TWO, run_id="budget", max_minutes=0)
    assert none.records == [] and none.summary["unfinished"] == 4 and not model.history
    assert "还有 4 项未做" in render_html(none)
    full = run_eval("drafting", model=model, model_label="s", case_ids=TWO, run_id="budget")
    assert len(full.records) == 4 and full.summary["unfinished"] == 0


def test_compare_can_gate_selected_metrics_only():
    a = _scripted_run()
    b = copy.deepcopy(a)
    b.summary["systems"]["pipeline"]["metrics"]["critic.warnings"] += 10
    assert compare_runs(a, b).regressed
    cmp = compare_runs(a, b, metrics=["critic.errors"])
    assert not cmp.regressed and any(c.metric == "critic.warnings" and c.delta == 10 for c in cmp.changes)
