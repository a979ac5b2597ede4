"""CI regression gates, against the committed baselines in ``evals/baselines/``.

* The critic on every labelled critique set: overall precision/recall within tolerance, and no family's
  recall may drop (the critic is deterministic: a drop is a change of behaviour, not noise).
* The grounding check on the mutation sets: everything the baseline caught is still caught, no false
  alarm on the clean drafts; the eval's independent metric likewise.
* Deep proofreading on the proofreading sets (embedded model): recall and precision within tolerance.
* Drafting on the embedded model, two cases of the v2 dev set: the figures the model's writing moves
  (fact coverage, 定性, causes left, measures on their object, numeric targets…) and the ones code
  guarantees, summary and per case; a figure that goes missing is a regression.

Every baseline stores a hash of its dataset: changed cases or labels without a new baseline fail.
Regenerate with ``make eval-baseline`` when a change is meant to move the figures, and say in the commit
which metric moved, by how much and why (tests are not loosened in the same commit).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import rag.config
from rag.config import Settings
from rag.evals.compare import compare_runs, describe
from rag.evals.datasets import load_dataset
from rag.evals.runner import dataset_hash, load_run, run_eval
from rag.llm import ensure_gguf, get_chat_model

ROOT = Path(rag.config.PROJECT_ROOT)
BASELINES = ROOT / "evals" / "baselines"
DATASETS = ROOT / "evals" / "datasets"
DRAFT_DATASET = "drafting_v2"
GATE_CASES = ["v2-geren-2024-fengdu-zhen-shuji", "v2-zhibu-2025-wuling-tongjiju"]
GATE_METRICS = [
    "structure.parts", "structure.order", "structure.aspects", "grounding.unsupported", "grounding.must_not",
    "grounding.fact_coverage", "specificity.anchored", "specificity.measures_complete", "linkage.problem_measure",
    "linkage.problem_cause", "gaps.count", "critic.errors", "review.avoidable_gaps", "review.placement",
    "review.dingxing", "review.causes_left", "review.causes_listing", "review.causes_blame", "review.claimed",
    "review.repeated_clauses", "review.measure_object", "review.numeric_targets", "review.fragments",
    "review.wrong_voice", "review.causes_consequence", "review.causes_no_fault", "review.soft_verdict",
    "review.other_subject", "review.shared_clauses", "review.causes_unfounded", "review.causes_right_view",
    "review.causes_against_facts", "review.dingxing_bent",
]


def _baseline(name: str):
    path = BASELINES / name
    assert path.is_file(), f"缺少基线 {path}；请运行 make eval-baseline 生成并提交"
    return load_run(path)


def _json_baseline(name: str) -> dict:
    path = BASELINES / name
    assert path.is_file(), f"缺少基线 {path}；请运行 make eval-baseline 生成并提交"
    return json.loads(path.read_text(encoding="utf-8"))


def _file_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _model():
    models = os.environ.get("ZHAOJING_MODELS_DIR") or str(ROOT / "data" / "models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHAOJING_MODELS_DIR", models)
        path = ensure_gguf(Settings(llm="embedded"))
    return get_chat_model(Settings(llm="embedded", gguf=path), temperature=0.0, seed=7)


@pytest.mark.parametrize("dataset, baseline", [
    ("critique_dev", "critique.json"), ("critique_holdout", "critique-holdout.json"),
    ("critique_v2_dev", "critique-v2.json"), ("critique_v2_holdout", "critique-v2-holdout.json"),
])
def test_critic_has_not_regressed(dataset, baseline):
    base = _baseline(baseline)
    assert base.config.get("dataset_hash") == dataset_hash(load_dataset(dataset)), \
        f"{dataset} 的用例或标注变了，但基线 {baseline} 没有重新生成"
    cmp = compare_runs(base, run_eval(dataset), systems=["critic"])
    assert not cmp.regressed, "\n".join(describe(cmp))


@pytest.mark.parametrize("dataset", ["grounding_dev", "grounding_holdout"])
def test_grounding_catches_what_it_caught(dataset):
    from rag.evals.mutations import evaluate, evaluate_metric, load_cases

    base = _json_baseline(f"{dataset.replace('_', '-')}.json")
    path = DATASETS / f"{dataset}.yaml"
    assert base["dataset_hash"] == _file_hash(path), f"{dataset} 变了，但基线没有重新生成"
    cases = load_cases(path)
    for name, result in (("checker", evaluate(cases)), ("metric", evaluate_metric(cases))):
        was = base[name]
        missed = {(m["case"], m["invented"]) for m in result["misses"]} - {(m["case"], m["invented"]) for m in was["misses"]}
        assert not missed, f"{name} 新漏查：{sorted(missed)}"
        assert len(result["false_alarms"]) <= len(was["false_alarms"]), (name, result["false_alarms"])
    assert evaluate(cases)["false_alarms"] == []  # the checker the drafter's guard uses: never on clean drafts


@pytest.mark.slow
@pytest.mark.parametrize("dataset", ["proofread_dev", "proofread_holdout"])
def test_proofreading_has_not_regressed(dataset):
    from rag.evals.proofread_eval import evaluate, load_cases

    base = _json_baseline(f"{dataset.replace('_', '-')}.json")
    path = DATASETS / f"{dataset}.yaml"
    assert base["dataset_hash"] == _file_hash(path), f"{dataset} 变了，但基线没有重新生成"
    result = evaluate(load_cases(path))
    print(f"{dataset}: recall {result['recall']} precision {result['precision']} "
          f"{result['seconds_per_3000']} s/3000字")
    assert result["recall"] >= base["recall"] - 0.02, (result["recall"], base["recall"], result["misses"])
    assert result["precision"] >= base["precision"] - 0.02, (result["precision"], result["false_alarm_list"])


@pytest.mark.slow
def test_drafting_on_the_embedded_model_has_not_regressed():
    base = _baseline("drafting-ci.json")
    assert sorted(base.config["cases"]) == sorted(GATE_CASES) and base.config["systems"] == ["pipeline"]
    assert base.config.get("dataset_hash") == dataset_hash(load_dataset(DRAFT_DATASET).select(GATE_CASES)), \
        "起草评测集的这两个用例（事实或标注）变了，但基线没有重新生成"
    run = run_eval(DRAFT_DATASET, model=_model(), model_label="embedded:gate", systems=["pipeline"],
                   case_ids=GATE_CASES)
    assert not any(r["error"] for r in run.records), [r["error"] for r in run.records]
    cmp = compare_runs(base, run, systems=["pipeline"], metrics=GATE_METRICS)
    print("\n".join(describe(cmp)))
    assert not cmp.regressed, "\n".join(describe(cmp))
