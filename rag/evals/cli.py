"""``zhaojing eval …``: run datasets, write reports, compare runs (a CI gate), manage datasets and baselines."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from rag.errors import ZhaojingError

app = typer.Typer(help="批量评测：运行数据集、生成报告、比较两次运行", no_args_is_help=True)
console = Console(stderr=True)
out = Console()


def _fail(exc: ZhaojingError) -> None:
    console.print(f"[red]错误：[/red]{exc.message}")
    if exc.hint:
        console.print(f"[yellow]建议：[/yellow]{exc.hint}")
    raise typer.Exit(2)


def model_for_eval(backend: str | None):
    """The chat model for an eval run and its label; embedded runs use temperature 0 and a fixed seed."""
    from rag.config import get_settings
    from rag.llm import get_chat_model

    settings = get_settings().model_copy(update={"llm": backend}) if backend else get_settings()
    if settings.llm == "fake":
        from rag.evals.scripted import ScriptedChatModel

        return ScriptedChatModel(), "fake:scripted"
    if settings.llm == "embedded":
        chat = get_chat_model(settings, temperature=0.0, seed=7)
        return chat, f"embedded:{Path(chat.model_path).name}"
    chat = get_chat_model(settings)
    return chat, f"openai:{getattr(chat, 'model_name', settings.model)}@{settings.openai_base_url}"


@app.command("run")
def run(
    dataset: str = typer.Argument(..., help="数据集文件或名称（如 drafting、critique_dev）"),
    model: str = typer.Option(None, "--model", help="模型后端：embedded | openai | fake（默认取配置）"),
    concurrency: int = typer.Option(4, "--concurrency", "-c", min=1, max=64, help="并发数（仅远程模型有效）"),
    cases: str = typer.Option(None, "--cases", help="只运行这些用例（逗号分隔的编号）"),
    systems: str = typer.Option(None, "--systems", help="起草对象：pipeline,naive（默认两者并排）"),
    run_id: str = typer.Option(None, "--run-id", help="运行编号；已存在时接着上次继续"),
    no_kb: bool = typer.Option(False, "--no-kb", help="不使用知识库"),
    judge: bool = typer.Option(False, "--judge", help="另用远程模型按评审要点打分（需配置 OPENAI_*）"),
    report: bool = typer.Option(True, "--report/--no-report", help="运行后生成 HTML 报告"),
    max_minutes: float = typer.Option(None, "--max-minutes", min=0, help="时间上限（分钟）：到时不再开始新用例，之后可用同一 --run-id 接着做"),
) -> None:
    """运行评测数据集：逐个用例缓存结果，中断后重跑会接着做。"""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from rag.evals.datasets import load_dataset
    from rag.evals.runner import run_eval

    try:
        ds = load_dataset(dataset)
        chat, label = model_for_eval(model) if ds.kind == "drafting" else (None, "none")
        kb = None if no_kb or ds.kind != "drafting" else _kb()
        judge_model = _judge() if judge else None
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                      console=console) as bar:
            task = bar.add_task(f"评测 {ds.name}", total=None)

            def progress(done: int, total: int, rec: dict) -> None:
                flag = "✗" if rec.get("error") else "✓"
                bar.update(task, completed=done, total=total,
                           description=f"{flag} {rec['case']}（{rec['system']}）")

            result = run_eval(ds, model=chat, model_label=label, systems=_split(systems), kb=kb, judge=judge_model,
                              concurrency=concurrency, case_ids=_split(cases), run_id=run_id, progress=progress,
                              max_minutes=max_minutes)
    except ZhaojingError as exc:
        _fail(exc)
    _print_summary(result.summary)
    console.print(f"运行编号 {result.run_id}，结果在 {result.path}")
    if result.summary.get("unfinished"):
        console.print(f"[yellow]到达时间上限，还有 {result.summary['unfinished']} 项未做；"
                      f"用 --run-id {result.run_id} 重跑即可接着做[/yellow]")
    if report:
        path = _write_report(result, result.path / "report.html")
        console.print(f"报告：{path}")


def _split(value: str | None) -> list[str] | None:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def _kb():
    from rag.kb.store import get_kb

    return get_kb()


def _judge():
    from rag.config import get_settings
    from rag.errors import ModelUnavailableError
    from rag.llm import get_chat_model

    settings = get_settings()
    if not settings.openai_base_url:
        raise ModelUnavailableError("模型评审需要一个远程模型", "请配置 OPENAI_BASE_URL 和 OPENAI_API_KEY，或去掉 --judge")
    return get_chat_model(settings.model_copy(update={"llm": "openai"}))


def _print_summary(summary: dict) -> None:
    from rag.evals.metrics import METRICS
    from rag.evals.report import SYSTEM_LABELS, fmt

    systems = list(summary.get("systems", {}))
    table = Table("指标", *[SYSTEM_LABELS.get(s, s) for s in systems])
    names = [m for m in METRICS if any(m in summary["systems"][s]["metrics"] for s in systems)]
    for m in names:
        table.add_row(METRICS[m].label, *[fmt(summary["systems"][s]["metrics"].get(m)) for s in systems])
    table.add_row("出错用例", *[str(summary["systems"][s]["errors"]) for s in systems])
    out.print(table)


def _write_report(result, path: Path) -> Path:
    from rag.evals.report import render_html

    path.write_text(render_html(result), encoding="utf-8")
    return path


@app.command("report")
def report_cmd(
    run_ref: str = typer.Argument(..., help="运行编号、运行目录或基线 JSON"),
    output: Path = typer.Option(None, "-o", "--output", help="HTML 报告路径（默认写在运行目录里）"),
    csv: Path = typer.Option(None, "--csv", help="同时导出 CSV"),
) -> None:
    """生成自包含的 HTML 报告（含图表和逐个用例明细），可另导出 CSV。"""
    from rag.evals.report import render_csv
    from rag.evals.runner import load_run

    try:
        result = load_run(run_ref)
    except ZhaojingError as exc:
        _fail(exc)
    target = output or (result.path / "report.html" if result.path.is_dir() else result.path.with_suffix(".html"))
    console.print(f"报告：{_write_report(result, target)}")
    if csv:
        csv.write_text(render_csv(result), encoding="utf-8")
        console.print(f"CSV：{csv}")


@app.command("compare")
def compare_cmd(
    before: str = typer.Argument(..., help="基准运行（编号、目录或基线 JSON）"),
    after: str = typer.Argument(..., help="新运行（编号、目录或基线 JSON）"),
    threshold: float = typer.Option(1.0, "--threshold", help="容差倍数：0 为严格，1 为默认容差"),
    systems: str = typer.Option(None, "--systems", help="只比较这些对象（如 pipeline,critic）"),
    metrics: str = typer.Option(None, "--metrics", help="只把这些指标的退步算作失败（逗号分隔的指标编号）"),
) -> None:
    """比较两次运行：哪些指标变了、哪些用例退步；退步超出容差时退出码为 1（可作为门禁）。"""
    from rag.evals.compare import compare_runs, describe
    from rag.evals.runner import load_run

    try:
        cmp = compare_runs(load_run(before), load_run(after), scale=threshold, systems=_split(systems),
                           metrics=_split(metrics))
    except ZhaojingError as exc:
        _fail(exc)
    for line in describe(cmp):
        out.print(line, markup=False, highlight=False)
    out.print("结论：有退步" if cmp.regressed else "结论：没有超出容差的退步")
    raise typer.Exit(1 if cmp.regressed else 0)


@app.command("list")
def list_cmd() -> None:
    """列出数据集和已有的评测运行。"""
    from rag.evals.datasets import list_datasets
    from rag.evals.runner import list_runs

    for p in list_datasets():
        out.print(f"数据集  {p}", markup=False, highlight=False)
    for p in list_runs():
        out.print(f"运行    {p.name}", markup=False, highlight=False)


@app.command("add")
def add_cmd(path: Path = typer.Argument(..., help="要加入的数据集文件（YAML/JSON）")) -> None:
    """校验并加入一个自建数据集（保存在数据目录，不进仓库）。"""
    from rag.evals.datasets import add_dataset

    try:
        target = add_dataset(path)
    except ZhaojingError as exc:
        _fail(exc)
    console.print(f"已加入数据集：{target}")


@app.command("baseline")
def baseline_cmd(
    run_ref: str = typer.Argument(..., help="作为基线的运行"),
    output: Path = typer.Option(..., "-o", "--output", help="基线 JSON 路径，如 evals/baselines/ci.json"),
    keep_text: bool = typer.Option(False, "--keep-text", help="保留草稿全文和明细"),
) -> None:
    """把一次运行保存为基线文件（提交到仓库，供 compare 和 CI 门禁使用）。"""
    from rag.evals.runner import load_run, save_baseline

    try:
        path = save_baseline(load_run(run_ref), output, keep_text=keep_text)
    except ZhaojingError as exc:
        _fail(exc)
    console.print(f"基线已写入 {path}")


def _file_hash(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def _dataset_path(name: str) -> Path:
    from rag.config import EVALS_DIR

    path = Path(name)
    if path.is_file():
        return path
    guess = EVALS_DIR / "datasets" / f"{name}.yaml"
    if not guess.is_file():
        raise typer.BadParameter(f"找不到数据集 {name}（{guess}）")
    return guess


@app.command("grounding")
def grounding_cmd(
    dataset: str = typer.Argument("grounding_dev", help="变异评测集：grounding_dev 或 grounding_holdout"),
    json_out: Path = typer.Option(None, "--json", help="把结果写入 JSON 文件"),
) -> None:
    """事实核对的变异评测：干净草稿不应有任何误报，插入的编造内容应被查出。"""
    import json

    from rag.evals.mutations import evaluate, evaluate_metric, load_cases

    try:
        path = _dataset_path(dataset)
        cases = load_cases(path)
        result = {"dataset_hash": _file_hash(path), "checker": evaluate(cases), "metric": evaluate_metric(cases)}
    except ZhaojingError as exc:
        _fail(exc)
    table = Table(title=f"事实核对变异评测：{dataset}（{len(cases)} 篇草稿）")
    for col in ("实现", "插入", "查出", "查出率", "干净稿误报", "按类型"):
        table.add_column(col)
    for name, label in (("checker", "批改器（起草守卫用）"), ("metric", "评测指标（独立实现）")):
        r = result[name]
        table.add_row(label, str(r["mutations"]), str(r["caught"]), f"{r['caught_share']:.0%}",
                      str(len(r["false_alarms"])), "，".join(f"{k} {v}" for k, v in r["by_kind"].items()))
    out.print(table)
    for name in ("checker", "metric"):
        for m in result[name]["misses"][:10]:
            out.print(f"  漏查（{name}）：{m['case']} {m['kind']} “{m['invented']}”")
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")


@app.command("proofread")
def proofread_cmd(
    dataset: str = typer.Argument("proofread_dev", help="校对评测集：proofread_dev 或 proofread_holdout"),
    json_out: Path = typer.Option(None, "--json", help="把结果写入 JSON 文件"),
) -> None:
    """深度校对评测：召回率、精确率和每 3000 字用时（使用内置模型）。"""
    import json

    from rich.progress import Progress

    from rag.evals.proofread_eval import evaluate, load_cases

    try:
        path = _dataset_path(dataset)
        cases = load_cases(path)
        with Progress(console=console) as bar:
            task = bar.add_task("深度校对", total=len(cases))
            result = evaluate(cases, progress=lambda n, total: bar.update(task, completed=n))
        result["dataset_hash"] = _file_hash(path)
    except ZhaojingError as exc:
        _fail(exc)
    out.print(f"错别字 {result['typos']} 处，查出 {result['caught']} 处（召回率 {result['recall']}）；"
              f"提示 {result['flags']} 处，误报 {result['false_alarms']} 处（精确率 {result['precision']}）；"
              f"用时 {result['seconds']} 秒，折合每 3000 字 {result['seconds_per_3000']} 秒")
    out.print("按类型：" + "，".join(f"{k} {v}" for k, v in result["by_kind"].items()))
    if json_out:
        json_out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
