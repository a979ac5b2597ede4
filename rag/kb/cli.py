"""Knowledge-base commands (mounted by the main CLI as ``zhaojing ingest|search|kb …``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from rag.config import KB_DIR
from rag.errors import ZhaojingError
from rag.kb.store import IngestReport, KnowledgeBase, ProgressFn, expand_paths, get_kb, source_for

app = typer.Typer(help="知识库：导入、检索、查看和删除材料", no_args_is_help=True)
console = Console()
err_console = Console(stderr=True)

CORPUS_DIR = KB_DIR / "corpus"
KIND_HELP = "材料类型：policy（政策文件）| past_material（往年材料）| exemplar（范文）| case（案例）"


def _fail(exc: ZhaojingError) -> typer.Exit:
    err_console.print(f"[red]错误：[/red]{exc.message}")
    if exc.hint:
        err_console.print(f"[yellow]建议：[/yellow]{exc.hint}")
    return typer.Exit(code=1)


def ensure_index(progress: ProgressFn | None = None, *, kb: KnowledgeBase | None = None,
                 corpus: Path | None = None) -> IngestReport:
    """Bring the store in line with ``knowledge_base/corpus/``: ingest new or changed files (unchanged ones
    are skipped by content hash) and drop records of corpus files that were removed."""
    kb = kb or get_kb()
    corpus = corpus or CORPUS_DIR
    if not corpus.is_dir():
        return IngestReport()
    files, _ = expand_paths([corpus])
    current = {source_for(f) for f in files}
    prefix = source_for(corpus).rstrip("/") + "/"
    known = {d["source"]: d for d in kb.list_documents()}
    for source in known:
        if source.startswith(prefix) and source not in current:
            kb.delete_source(source)
    return kb.ingest([corpus], progress=progress)


def _print_report(report: IngestReport) -> None:
    console.print(f"[green]完成[/green]：{report.summary()}")
    for source, message in report.errors:
        err_console.print(f"  [red]✗[/red] {source}：{message}")


def _progress_bar() -> Progress:
    return Progress(
        TextColumn("[bold]导入[/bold]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        TextColumn("{task.description}"), console=console, transient=True,
    )


@app.command("ingest")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="要导入的文件或文件夹（.md .txt .docx .pdf）")],
    kind: Annotated[str | None, typer.Option("--kind", help=KIND_HELP)] = None,
) -> None:
    """导入文件或文件夹到知识库（未变化的文件自动跳过）。"""
    try:
        kb = get_kb()
        with _progress_bar() as bar:
            task = bar.add_task("", total=None)

            def on_progress(done: int, total: int, source: str) -> None:
                bar.update(task, completed=done, total=total, description=source)

            report = kb.ingest(paths, kind=kind, progress=on_progress)
    except ZhaojingError as exc:
        raise _fail(exc) from exc
    _print_report(report)
    if report.errors and not (report.added or report.updated or report.skipped):
        raise typer.Exit(code=1)


@app.command("search")
def search(
    query: Annotated[str, typer.Argument(help="要查找的内容")],
    kind: Annotated[list[str] | None, typer.Option("--kind", help=KIND_HELP)] = None,
    year: Annotated[int | None, typer.Option("--year", help="年度，例如 2025")] = None,
    meeting_type: Annotated[str | None, typer.Option("--meeting-type", help="班子 | 个人 | 支部")] = None,
    k: Annotated[int, typer.Option("--k", help="返回条数")] = 5,
    mode: Annotated[str, typer.Option("--mode", help="hybrid | dense | bm25")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="以 JSON 输出")] = False,
) -> None:
    """在知识库中检索，返回带出处的片段。"""
    try:
        hits = get_kb().search(query, k=k, mode=mode, kinds=kind or None, year=year, meeting_type=meeting_type)
    except ZhaojingError as exc:
        raise _fail(exc) from exc
    if as_json:
        typer.echo(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=2))
        return
    if not hits:
        console.print("没有找到相关内容。知识库为空时请先运行 [bold]zhaojing ingest[/bold] 导入材料。")
        return
    for i, hit in enumerate(hits, start=1):
        console.print(f"[bold cyan]{i}. {hit.citation}[/bold cyan]  [dim]{hit.kind} · {hit.source} · {hit.score:.4f}[/dim]")
        console.print(hit.text.strip(), markup=False, highlight=False)
        console.print()


@app.command("list")
def list_documents() -> None:
    """列出知识库中已导入的文件。"""
    try:
        docs = get_kb().list_documents()
    except ZhaojingError as exc:
        raise _fail(exc) from exc
    if not docs:
        console.print("知识库为空。请先运行 [bold]zhaojing ingest 文件或文件夹[/bold]。")
        return
    table = Table("来源", "标题", "类型", "年度", "类别", "片段数", show_lines=False)
    for d in docs:
        status = "" if d.get("status") == "done" else "（未完成）"
        table.add_row(d["source"], f"{d['title']}{status}", d.get("kind") or "", str(d.get("year") or ""),
                      d.get("meeting_type") or "", str(d["chunks"]))
    console.print(table)
    console.print(f"共 {len(docs)} 个文件，{sum(d['chunks'] for d in docs)} 个片段")


@app.command("delete")
def delete(source: Annotated[str, typer.Argument(help="要删除的文件（kb list 中的“来源”）")]) -> None:
    """从知识库中删除一个文件及其全部片段。"""
    try:
        removed = get_kb().delete_source(source)
    except ZhaojingError as exc:
        raise _fail(exc) from exc
    console.print(f"已删除：{source}（{removed} 个片段）")
