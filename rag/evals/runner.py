"""The eval runner: run a dataset, cache every case, write per-case JSONL and a summary.

A run lives in ``<data dir>/evals/runs/<run id>/``: ``run.json`` (configuration), ``cases.jsonl`` (one record per
case and system, appended and flushed as each finishes) and ``summary.json``. Generated drafts are cached in
``<data dir>/evals/cache/`` under a key of (case, facts file, system, model, code fingerprint), so a re-run —
or a resumed interrupted run — only generates what is missing. Metrics are recomputed from the cached text each
time (they are cheap), so a change to a metric applies to old generations too.

Drafting datasets run two systems side by side on the same cases: ``pipeline`` (the real drafter) and ``naive``
(the one-prompt baseline). Critique datasets run the critic and score it against the labels.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag.config import PROJECT_ROOT, get_settings
from rag.errors import InputError, ZhaojingError
from rag.evals.critic_quality import scored_families
from rag.evals.datasets import Dataset, case_fingerprint, load_dataset
from rag.evals.metrics import METRICS, DraftInputs, draft_metrics, within_run_similarity

SYSTEMS = ("pipeline", "naive")
Progress = Callable[[int, int, dict], None]
CODE_PATHS = ("rag", "prompts", "knowledge_base/genre", "knowledge_base/frames", "knowledge_base/lexicons")
"""Everything a drafting run depends on: the package (drafter, critic, frames, genre, model seam), the
prompts and the data the drafter and its guard read. Editing any of it invalidates cached generations."""
CODE_SUFFIXES = (".py", ".j2", ".yaml", ".yml", ".txt")


@dataclass
class RunConfig:
    """What a run is: dataset, systems, model label, concurrency, knowledge base on/off, judge on/off."""

    dataset: str
    kind: str
    systems: list[str]
    model: str
    concurrency: int = 1
    use_kb: bool = True
    judge: str | None = None
    cases: list[str] = field(default_factory=list)


@dataclass
class RunResult:
    """A finished (or resumed) run: its folder, records and summary."""

    run_id: str
    path: Path
    config: dict[str, Any]
    records: list[dict[str, Any]]
    summary: dict[str, Any]


# ----------------------------------------------------------------------------------------- folders

def runs_dir() -> Path:
    """Where runs are written (git-ignored: inside the data dir)."""
    return get_settings().data_dir / "evals" / "runs"


def cache_dir() -> Path:
    """Where generated drafts are cached per case and configuration."""
    return get_settings().data_dir / "evals" / "cache"


def list_runs() -> list[Path]:
    """Run folders, newest first."""
    root = runs_dir()
    if not root.is_dir():
        return []
    return sorted((p for p in root.iterdir() if (p / "run.json").is_file()), key=lambda p: p.stat().st_mtime,
                  reverse=True)


def dataset_hash(ds: Dataset) -> str:
    """Hash of the dataset's cases and labels (and, for drafting, its facts files): a baseline made on
    other cases or labels is not comparable."""
    h = hashlib.sha256(json.dumps(ds.cases, ensure_ascii=False, sort_keys=True, default=str).encode())
    for case in ds.cases if ds.kind == "drafting" else []:
        path = PROJECT_ROOT / case["facts"]
        if path.is_file():
            h.update(path.read_bytes())
    return h.hexdigest()[:16]


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of everything a drafting run depends on (:data:`CODE_PATHS`): a change invalidates cached
    generations. Paths are hashed relative to the project, so moving a file counts as a change too."""
    h = hashlib.sha256()
    files: list[Path] = []
    for rel in CODE_PATHS:
        p = PROJECT_ROOT / rel
        files += sorted(f for f in p.rglob("*") if f.suffix in CODE_SUFFIXES) if p.is_dir() else [p]
    for f in files:
        if f.is_file() and "__pycache__" not in f.parts:
            h.update(str(f.relative_to(PROJECT_ROOT)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:12]


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
    tmp.replace(path)


class _Journal:
    """Append-only JSONL of finished records; each line is flushed and fsynced so a kill loses nothing."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()

    def read(self) -> list[dict[str, Any]]:
        if not self.path.is_file():
            return []
        out = []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                out.append(json.loads(line))
            except json.JSONDecodeError:  # a line cut by a crash: that case simply runs again
                continue
        return out

    def append(self, record: dict[str, Any]) -> None:
        line = json.dumps(record, ensure_ascii=False, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())


# ----------------------------------------------------------------------------------------- generation

def _cache_key(case: dict, system: str, model_label: str, use_kb: bool) -> str:
    raw = f"{case_fingerprint(case)}|{system}|{model_label}|kb={use_kb}|{code_fingerprint()}"
    return hashlib.sha256(raw.encode()).hexdigest()[:24]


@lru_cache(maxsize=256)
def _facts_cached(path: str, mtime: float):
    from rag.draft.facts import load_facts

    return load_facts(Path(path))


def case_facts(case: dict):
    """The case's facts file, parsed once per file version (a deep copy, so callers may not share state)."""
    path = PROJECT_ROOT / case["facts"]
    return _facts_cached(str(path), path.stat().st_mtime).model_copy(deep=True)


def _generate(case: dict, system: str, model: BaseChatModel, kb: Any) -> dict[str, Any]:
    """Draft one case with one system; returns text, citations and stats (errors are recorded, not raised)."""
    from rag.draft.pipeline import draft_from_facts, resolve_frame
    from rag.draft.render import to_markdown
    from rag.evals.naive import naive_draft

    facts = case_facts(case)
    started = time.perf_counter()
    try:
        if system == "pipeline":
            draft = draft_from_facts(facts, model, kb=kb)
            return {"text": to_markdown(draft), "citations": [c.model_dump() for c in draft.citations],
                    "stats": draft.stats, "error": None}
        out = naive_draft(facts, resolve_frame(facts), model, kb)
        citations = [{"source": p["source"], "text": p["text"]} for p in out["passages"]]
        return {"text": out["text"], "citations": citations, "stats": out["stats"], "error": None,
                "passages_only": True}
    except Exception as exc:  # noqa: BLE001 - one failing case must not stop a batch; it is recorded
        partial = getattr(exc, "partial", None)
        text = to_markdown(partial) if partial is not None else ""
        message = exc.message if isinstance(exc, ZhaojingError) else f"内部错误（{type(exc).__name__}）：{exc}"
        return {"text": text, "citations": [], "error": message,
                "stats": {"seconds": round(time.perf_counter() - started, 2)}}


def _cached_generation(case: dict, system: str, model: BaseChatModel, kb: Any, cfg: RunConfig) -> tuple[dict, bool]:
    path = cache_dir() / f"{_cache_key(case, system, cfg.model, cfg.use_kb)}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text(encoding="utf-8")), True
        except json.JSONDecodeError:
            path.unlink(missing_ok=True)
    out = _generate(case, system, model, kb)
    if out["error"] is None:  # failures are not cached: a re-run tries again
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_json(path, out)
    return out, False


# ----------------------------------------------------------------------------------------- scoring

def _inputs(case: dict, gen: dict, kb: Any, reference: Any) -> DraftInputs:
    from rag.draft.pipeline import resolve_frame

    facts = case_facts(case)
    frame = resolve_frame(facts)
    from rag.draft.pipeline import known_text

    cited = gen.get("citations") or []
    known = known_text(facts, frame) + "\n" + "\n".join(c.get("text", "") for c in cited)
    sources = _source_texts(kb, {c.get("source", "") for c in cited}) if kb is not None else {}
    return DraftInputs(
        facts={f.id: f.text for f in facts.facts}, known=known, year=facts.year, meeting_type=facts.meeting_type,
        frame=frame, expect=case.get("expect") or {},
        citations=[] if gen.get("passages_only") else cited, source_texts=sources, reference=reference,
    )


def _source_texts(kb: Any, sources: set[str]) -> dict[str, str]:
    from rag.evals.metrics import cjk

    out: dict[str, list[str]] = {}
    try:
        for ch in kb.all_chunks():
            src = ch.metadata.get("source", "")
            if src in sources:
                out.setdefault(src, []).append(cjk(ch.text))
    except Exception:  # noqa: BLE001 - no KB, no citation check
        return {}
    return {k: "".join(v) for k, v in out.items()}


def _reference_index(kb: Any):
    if kb is None:
        return None
    from rag.critic.api import build_corpus_index

    try:
        return build_corpus_index(kb.all_chunks(kinds=["exemplar", "past_material"]))[0]
    except Exception:  # noqa: BLE001
        return None


def score_drafting(case: dict, system: str, gen: dict, kb: Any, reference: Any,
                   judge: BaseChatModel | None) -> dict[str, Any]:
    """One record: metrics and details of a generated draft."""
    rec: dict[str, Any] = {"case": case["id"], "system": system, "error": gen.get("error"), "text": gen["text"]}
    if not gen["text"].strip():
        rec["metrics"], rec["details"] = {}, {}
        return rec
    inp = _inputs(case, gen, kb, reference)
    metrics, details = draft_metrics(gen["text"], inp)
    stats = gen.get("stats") or {}
    metrics["cost.seconds"] = stats.get("seconds")
    metrics["cost.llm_calls"] = stats.get("llm_calls")
    if judge is not None:
        from rag.evals.judge import judge_draft

        verdict = judge_draft(gen["text"], inp.year, inp.meeting_type, judge)
        metrics["judge.pass_rate"] = verdict.get("pass_rate")
        details["judge"] = verdict
    rec.update(metrics=metrics, details=details, stats=stats)
    return rec


def score_critique(case: dict, scored: set[str] | None = None) -> dict[str, Any]:
    """One record: the critic's findings on a labelled case, matched against the labels (families outside
    ``scored`` are not scored: see ``evals/datasets/families.yaml``)."""
    from rag.critic.engine import critique
    from rag.evals.critic_quality import match_case

    report = critique(case["text"], year=case.get("year"), meeting_type=case.get("meeting_type"))
    res = match_case(case, [f.model_dump() for f in report.findings], scored)
    tp, fp = len(res.tp), len(res.fp)
    labels = len(case.get("expected") or [])
    metrics = {
        "critic.precision": round(tp / (tp + fp), 3) if tp + fp else None,
        "critic.recall": round(len(res.found) / labels, 3) if labels else None,
    }
    slim = [{k: f[k] for k in ("rule", "level", "start", "end", "quote")} for f in res.tp + res.fp]
    return {"case": case["id"], "system": "critic", "error": None, "metrics": metrics,
            "details": {"tp": [f["rule"] for f in res.tp],
                        "false_alarms": [{k: f[k] for k in ("rule", "quote")} for f in res.fp],
                        "misses": res.fn, "found": res.found, "findings": slim}}


# ----------------------------------------------------------------------------------------- summary

def summarise(records: list[dict[str, Any]], dataset: Dataset | None = None) -> dict[str, Any]:
    """Mean of every metric per system, case and error counts; critic P/R/F1 per family for critique runs."""
    systems: dict[str, dict[str, Any]] = {}
    for system in dict.fromkeys(r["system"] for r in records):
        recs = [r for r in records if r["system"] == system]
        names = [m for m in METRICS if any(m in (r.get("metrics") or {}) for r in recs)]
        means = {}
        for m in names:
            vals = [r["metrics"][m] for r in recs if (r.get("metrics") or {}).get(m) is not None]
            means[m] = round(statistics.fmean(vals), 3) if vals else None
        systems[system] = {"cases": len(recs), "errors": sum(bool(r.get("error")) for r in recs), "metrics": means}
    out: dict[str, Any] = {"systems": systems}
    if dataset is not None and dataset.kind == "critique":
        out["critic"] = _critic_summary(records, dataset)
        systems["critic"]["metrics"].update({f"critic.{k}": round(out["critic"]["overall"][k], 3)
                                             for k in ("precision", "recall", "f1")})
    return out


def _critic_summary(records: list[dict[str, Any]], dataset: Dataset) -> dict[str, Any]:
    from rag.evals.critic_quality import CaseResult
    from rag.evals.critic_quality import summarise as critic_summarise

    by_id = {c["id"]: c for c in dataset.cases}
    results = []
    for r in records:
        d = r.get("details") or {}
        res = CaseResult(r["case"])
        res.tp = [{"rule": rule} for rule in d.get("tp", [])]
        res.fp = [{"rule": f["rule"]} for f in d.get("false_alarms", [])]
        res.fn, res.found = d.get("misses", []), d.get("found", [])
        results.append(res)
    cases = [by_id[r["case"]] for r in records]
    return critic_summarise(results, cases)


def _add_run_similarity(records: list[dict[str, Any]]) -> None:
    for system in {r["system"] for r in records if r["system"] in SYSTEMS}:
        recs = [r for r in records if r["system"] == system and r.get("metrics")]
        for r, sim in zip(recs, within_run_similarity([r["text"] for r in recs]), strict=True):
            r["metrics"]["originality.max_sim_run"] = sim


# ----------------------------------------------------------------------------------------- the run

def new_run_id(dataset: Dataset) -> str:
    """``<dataset>-<YYYYmmdd-HHMMSS>`` (with ``-2``, ``-3``… when that folder already exists)."""
    base = f"{dataset.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    run_id, n = base, 1
    while (runs_dir() / run_id).exists():
        n += 1
        run_id = f"{base}-{n}"
    return run_id


def run_eval(
    dataset: str | Path | Dataset,
    *,
    model: BaseChatModel | None = None,
    model_label: str = "",
    systems: list[str] | None = None,
    kb: Any = None,
    judge: BaseChatModel | None = None,
    concurrency: int = 1,
    case_ids: list[str] | None = None,
    run_id: str | None = None,
    progress: Progress | None = None,
    max_minutes: float | None = None,
) -> RunResult:
    """Run a dataset and return its records and summary; resumes ``run_id`` when that run exists.

    With ``max_minutes`` no new case starts after that time; the summary then reports ``unfinished`` cases
    and a later run with the same ``run_id`` completes them.
    """
    ds = dataset if isinstance(dataset, Dataset) else load_dataset(dataset)
    ds = ds.select(case_ids)
    systems = list(systems or (SYSTEMS if ds.kind == "drafting" else ["critic"]))
    if ds.kind == "drafting" and model is None:
        raise InputError("起草评测需要一个模型", "请用 --model 选择模型，或在设置中配置模型")
    bad = [s for s in systems if s not in (SYSTEMS if ds.kind == "drafting" else ("critic",))]
    if bad:
        raise InputError(f"不认识的评测对象：{'、'.join(bad)}", "起草数据集可选 pipeline、naive；批改数据集为 critic")
    cfg = RunConfig(dataset=str(ds.path), kind=ds.kind, systems=systems, model=model_label or "none",
                    concurrency=max(1, concurrency), use_kb=kb is not None,
                    judge=type(judge).__name__ if judge is not None else None, cases=[c["id"] for c in ds.cases])
    run_id = run_id or new_run_id(ds)
    folder = runs_dir() / run_id
    folder.mkdir(parents=True, exist_ok=True)
    config = {**cfg.__dict__, "run_id": run_id, "code": code_fingerprint(), "dataset_hash": dataset_hash(ds),
              "started": dt.datetime.now().isoformat(timespec="seconds")}
    _write_json(folder / "run.json", config)
    journal = _Journal(folder / "cases.jsonl")
    done = {(r["case"], r["system"]): r for r in journal.read() if not r.get("error")}
    todo = [(c, s) for c in ds.cases for s in systems if (c["id"], s) not in done]
    total, finished = len(ds.cases) * len(systems), len(done)
    reference = _reference_index(kb) if ds.kind == "drafting" else None

    scored = scored_families(ds.path) if ds.kind == "critique" else None

    def work(case: dict, system: str) -> dict[str, Any]:
        if ds.kind == "critique":
            return score_critique(case, scored)
        gen, hit = _cached_generation(case, system, model, kb, cfg)
        rec = score_drafting(case, system, gen, kb, reference, judge)
        rec["cached"] = hit
        return rec

    workers = 1 if _serial_only(model) else cfg.concurrency
    stop_at = time.monotonic() + max_minutes * 60 if max_minutes is not None else None
    for rec in _execute(work, todo, workers, stop_at):
        journal.append(rec)
        done[(rec["case"], rec["system"])] = rec
        finished += 1
        if progress:
            progress(finished, total, rec)
    failed = {(r["case"], r["system"]): r for r in journal.read() if r.get("error")}
    records = [done.get(k) or failed[k] for k in ((c["id"], s) for c in ds.cases for s in systems)
               if k in done or k in failed]
    _add_run_similarity(records)
    summary = summarise(records, ds)
    summary["finished"] = dt.datetime.now().isoformat(timespec="seconds")
    summary["unfinished"] = total - len(records)
    _write_json(folder / "summary.json", summary)
    _write_json(folder / "records.json", records)
    return RunResult(run_id, folder, config, records, summary)


def _execute(work: Callable[[dict, str], dict], todo: list[tuple[dict, str]], workers: int,
             stop_at: float | None) -> Iterator[dict[str, Any]]:
    """Run ``work`` over ``todo`` with ``workers`` threads, yielding records as they finish.

    Jobs are handed out one at a time, so with a time budget (``stop_at``, monotonic seconds) no new case is
    started once it has passed; cases under way are finished and kept.
    """
    queue = list(todo)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        running = set()
        while queue or running:
            while queue and len(running) < workers and (stop_at is None or time.monotonic() < stop_at):
                running.add(pool.submit(work, *queue.pop(0)))
            if not running:
                break
            finished, running = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                yield fut.result()


def _serial_only(model: BaseChatModel | None) -> bool:
    """llama.cpp and the scripted fake are not safe to call from several threads at once."""
    return model is not None and type(model).__name__ in ("ChatLlamaCpp", "FakeChatModel")


def load_run(ref: str | Path) -> RunResult:
    """A finished run by id or folder, or a baseline/summary JSON file (``{"config", "records", "summary"}``)."""
    p = Path(ref)
    if p.is_file():
        data = json.loads(p.read_text(encoding="utf-8"))
        return RunResult(data.get("config", {}).get("run_id", p.stem), p, data.get("config", {}),
                         data.get("records", []), data.get("summary", {}))
    folder = p if p.is_dir() else runs_dir() / str(ref)
    if not (folder / "summary.json").is_file():
        raise InputError(f"找不到评测运行：{ref}", "请给出运行编号（zhaojing eval list 可查看）、运行目录或基线 JSON 文件")
    read = lambda name: json.loads((folder / name).read_text(encoding="utf-8"))  # noqa: E731
    return RunResult(folder.name, folder, read("run.json"), read("records.json"), read("summary.json"))


def save_baseline(run: RunResult, path: Path, keep_text: bool = False) -> Path:
    """Write a run as a committed baseline (config, per-case metrics, summary; draft texts only if asked)."""
    records = [{k: v for k, v in r.items() if keep_text or k not in ("text", "details")} for r in run.records]
    _write_json(path, {"config": run.config, "records": records, "summary": run.summary})
    return path
