"""The ``zhaojing`` command line. Heavy modules are imported inside commands so ``--help`` stays fast."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from rag.errors import ZhaojingError

if TYPE_CHECKING:
    from rag.draft.pipeline import DraftInterrupted
    from rag.draft.schemas import Draft

app = typer.Typer(help="照镜：对照检查材料起草与批改助手（默认离线运行）", no_args_is_help=True, add_completion=False)
rules_app = typer.Typer(help="查看和检验批改规则", no_args_is_help=True)
app.add_typer(rules_app, name="rules")
frames_app = typer.Typer(help="检视框架：列出、查看、检查（自己的框架放在数据目录 frames/ 下）", no_args_is_help=True)
app.add_typer(frames_app, name="frames")
console = Console(stderr=True)
out = Console()


def fail(exc: ZhaojingError, code: int = 2) -> None:
    """Print a Chinese error with its hint and exit."""
    console.print(f"[red]错误：[/red]{exc.message}")
    if exc.hint:
        console.print(f"[yellow]建议：[/yellow]{exc.hint}")
    raise typer.Exit(code)


def _mount_kb() -> None:
    try:
        from rag.kb import cli as kb_cli
    except ImportError:  # pragma: no cover - during partial installs
        return
    app.add_typer(kb_cli.app, name="kb", help="知识库：导入、检索、列出、删除")
    for name in ("ingest", "search"):
        cmd = getattr(kb_cli, name, None)
        if cmd is not None:
            app.command(name=name)(cmd)


@app.command()
def setup(quiet: bool = typer.Option(False, "--quiet", "-q", help="少输出")) -> None:
    """首次运行准备：拼装并校验内置模型文件，建立知识库索引。"""
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    from rag.llm.gguf import ensure_gguf

    try:
        with Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(), console=console,
                      disable=quiet) as bar:
            task = bar.add_task("准备内置模型", total=None)
            path = ensure_gguf(progress=lambda done, total: bar.update(task, completed=done, total=total))
        if not quiet:
            console.print(f"内置模型就绪：{path}")
        from rag.kb.cli import ensure_index

        report = ensure_index()
        if not quiet:
            console.print(f"知识库就绪：{report}")
    except ZhaojingError as exc:
        fail(exc)


@app.command()
def critique(
    files: list[str] = typer.Argument(..., help="要批改的文件（.txt/.md/.docx/.pdf），- 表示从标准输入读取"),
    year: int = typer.Option(None, "--year", help="材料所属年度，如 2025（不填则自动识别）"),
    meeting_type: str = typer.Option(None, "--meeting-type", help="班子 | 个人 | 支部（不填则自动识别）"),
    frame: str = typer.Option(None, "--frame", help="检视框架：框架编号或框架 YAML 文件（不填则按年度和类型选择）"),
    facts: Path = typer.Option(None, "--facts", help="事实文件：核对草稿中的数字、日期、人名、机构是否都有依据"),
    proofread: bool = typer.Option(False, "--proofread", help="深度校对：用内置模型逐句查错别字（较慢）"),
    fmt: str = typer.Option("text", "--format", help="输出格式：text | json | html"),
    config: Path = typer.Option(None, "--config", help="批改配置文件（开关规则、最低级别）"),
    no_kb: bool = typer.Option(False, "--no-kb", help="不与知识库比对相似度"),
    output: Path = typer.Option(None, "-o", "--output", help="写入文件而不是屏幕"),
) -> None:
    """批改对照检查材料；有“错误”级问题时退出码为 1，可用于批量把关。"""
    from rag.critic import api, render

    if meeting_type and meeting_type not in ("班子", "个人", "支部"):
        fail(ZhaojingError("材料类型只能是 班子、个人 或 支部", "例如 --meeting-type 个人"))
    if fmt not in ("text", "json", "html"):
        fail(ZhaojingError(f"不支持的输出格式：{fmt}", "可选 text、json、html"))
    try:
        from rag.uploads import read_drafts

        texts = read_drafts(files)
        frame_obj, frame_id = _frame_arg(frame)
        facts_obj = None
        if facts is not None:
            from rag.draft.facts import load_facts

            facts_obj = load_facts(facts)
        if proofread:
            from rich.progress import Progress

            with Progress(console=console) as bar:
                task = bar.add_task("深度校对", total=None)
                reports = api.critique_many(texts, year=year, meeting_type=meeting_type, frame_id=frame_id,
                                            config_path=config, use_kb=not no_kb, frame=frame_obj, facts=facts_obj,
                                            proofread=True,
                                            progress=lambda n, total: bar.update(task, completed=n, total=total))
        else:
            reports = api.critique_many(texts, year=year, meeting_type=meeting_type, frame_id=frame_id,
                                        config_path=config, use_kb=not no_kb, frame=frame_obj, facts=facts_obj)
    except ZhaojingError as exc:
        fail(exc)
    if fmt == "json":
        result = render.to_json(reports)
    elif fmt == "html":
        result = render.to_html(reports, list(texts.values()))
    else:
        result = "\n\n".join(render.to_text(r) for r in reports)
    if output:
        output.write_text(result, encoding="utf-8")
        console.print(f"已写入 {output}")
    else:
        out.print(result, markup=False, highlight=False, soft_wrap=True)
    raise typer.Exit(1 if any(r.has_errors for r in reports) else 0)


def _frame_arg(value: str | None):
    """``--frame``: an id (returned as the id) or a YAML file of the user's own frame (returned as a Frame)."""
    if not value:
        return None, None
    path = Path(value)
    if path.suffix in (".yaml", ".yml") or path.is_file():
        import yaml

        from rag.frames import frame_from_mapping

        if not path.is_file():
            raise ZhaojingError(f"找不到框架文件 {value}", "请检查路径，或填写框架编号（zhaojing frames list）")
        return frame_from_mapping(yaml.safe_load(path.read_text(encoding="utf-8")), f"框架文件 {path.name}"), None
    return None, value


@frames_app.command("list")
def frames_list() -> None:
    """列出全部检视框架（内置的和数据目录 frames/ 下自己加的）。"""
    from rag.frames import load_frames

    try:
        frames = load_frames()
    except ZhaojingError as exc:
        fail(exc)
    for f in frames:
        out.print(f"{f.id}  {f.name}｜{f.meeting}｜年度 {'、'.join(map(str, f.years)) or '—'}｜"
                  f"{'、'.join(f.meeting_types)}｜{len(f.aspects)} 个方面", soft_wrap=True)


@frames_app.command("show")
def frames_show(frame: str = typer.Argument(..., help="框架编号或框架 YAML 文件")) -> None:
    """显示一个框架的主题、方面和必需部分。"""
    from rag.frames import get_frame

    try:
        obj, frame_id = _frame_arg(frame)
        obj = obj or get_frame(frame_id)
    except ZhaojingError as exc:
        fail(exc)
    out.print(f"{obj.name}（{obj.id}）\n会议：{obj.meeting}；年度：{'、'.join(map(str, obj.years)) or '—'}；"
              f"材料类型：{'、'.join(obj.meeting_types)}\n主题：{obj.theme or '—'}")
    for i, a in enumerate(obj.aspects, start=1):
        out.print(f"  {i}. {a.heading}" + (f"——{a.description}" if a.description else ""))
    if obj.required_sections:
        out.print("必需部分：" + "、".join(obj.required_sections))


@frames_app.command("check")
def frames_check(path: Path = typer.Argument(..., help="要检查的框架 YAML 文件")) -> None:
    """检查一个框架文件：格式、方面名称、关键词、与已有框架的编号冲突。"""
    from rag.frames import builtin_frames

    try:
        frame, _ = _frame_arg(str(path))
        if frame is None:
            raise ZhaojingError(f"{path} 不是框架文件", "框架文件是 .yaml 文件，格式见 knowledge_base/frames/README.md")
    except ZhaojingError as exc:
        fail(exc)
    problems = []
    names = [a.name for a in frame.aspects]
    if len(set(names)) < len(names):
        problems.append("有重复的方面名称")
    for a in frame.aspects:
        if not a.keywords:
            problems.append(f"方面“{a.name}”没有关键词（批改时靠关键词认出草稿里的方面标题）")
        if not a.description:
            problems.append(f"方面“{a.name}”没有说明（起草时靠说明判断事实归入哪个方面）")
    if not frame.years:
        problems.append("没有填写适用年度（years）")
    if path.stem in {f.id for f in builtin_frames()}:
        problems.append(f"编号“{path.stem}”与内置框架重复（内置框架优先，这个文件不会生效）")
    out.print(f"{frame.name}：{len(frame.aspects)} 个方面，{'专题会议' if frame.special else '年度会议'}")
    for p in problems:
        out.print(f"  ⚠ {p}")
    out.print("检查通过" if not problems else f"有 {len(problems)} 处需要注意（不影响使用的提醒以 ⚠ 标出）")


@rules_app.command("list")
def rules_list() -> None:
    """列出全部批改规则。"""
    from rich.table import Table

    from rag.critic.model import LEVEL_LABELS, load_rules

    table = Table("编号", "级别", "类型", "说明")
    for r in load_rules():
        table.add_row(r.id, LEVEL_LABELS[r.level], r.type, r.message)
    out.print(table)


@rules_app.command("check")
def rules_check() -> None:
    """用每条规则自带的正反示例检验规则（修改规则或词表后运行）。"""
    from rag.critic.engine import run_example
    from rag.critic.model import load_rules

    bad = 0
    for r in load_rules():
        for ex in r.examples.fail:
            if not run_example(r, ex):
                bad += 1
                out.print(f"✗ {r.id}：反例没有被检出")
        for ex in r.examples.passes:
            if run_example(r, ex):
                bad += 1
                out.print(f"✗ {r.id}：正例被误报")
    out.print("全部规则示例通过" if not bad else f"{bad} 个示例不符合预期")
    raise typer.Exit(1 if bad else 0)


@app.command()
def draft(
    facts_file: Path = typer.Argument(..., help="事实文件（YAML 或 JSON），格式见 examples/facts/"),
    output: Path = typer.Option(None, "-o", "--output", help="把草稿写入 .md 文件"),
    docx: Path = typer.Option(None, "--docx", help="同时导出公文格式的 .docx"),
    model: str = typer.Option(None, "--model", help="模型后端：embedded | openai | fake（默认取配置）"),
    no_kb: bool = typer.Option(False, "--no-kb", help="不检索知识库"),
    causes: str = typer.Option("ask", "--causes",
                               help="模型没写出合格原因时的候选原因：ask 逐条询问（终端交互时）| first 取第一条 | keep 保留待选标记"),
) -> None:
    """根据事实起草对照检查材料（只用提供的事实，缺事实处标注待补充）。"""
    from rich.progress import Progress, SpinnerColumn, TextColumn

    from rag.config import get_settings
    from rag.draft.facts import load_facts
    from rag.draft.pipeline import DraftInterrupted, draft_from_facts
    from rag.draft.render import to_markdown
    from rag.llm import get_chat_model

    try:
        facts = load_facts(facts_file)
        settings = get_settings().model_copy(update={"llm": model}) if model else get_settings()
        chat = get_chat_model(settings)
        kb = None
        if not no_kb:
            from rag.kb.store import get_kb

            kb = get_kb()
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), console=console) as bar:
            task = bar.add_task("准备起草", total=None)
            result = draft_from_facts(facts, chat, kb=kb, on_event=lambda kind, payload: bar.update(
                task, description=str(payload)) if kind == "status" else None)
    except DraftInterrupted as exc:
        _save_partial(exc, output or Path(facts_file.name), to_markdown)
        fail(exc)
    except ZhaojingError as exc:
        fail(exc)
    result = _pick_causes(result, causes)
    text = to_markdown(result)
    if output:
        output.write_text(text, encoding="utf-8")
        console.print(f"已写入 {output}")
    else:
        out.print(text, markup=False, highlight=False, soft_wrap=True)
    if docx:
        from rag.docx_io import draft_to_docx

        docx.write_bytes(draft_to_docx(result.title, text))
        console.print(f"已导出 {docx}")
    s = result.stats
    console.print(f"用时 {s['seconds']} 秒，调用模型 {s['llm_calls']} 次，事实使用率 {s['fact_coverage']:.0%}，"
                  f"待补充 {s['gaps']} 处，拦截无依据内容 {s['guard_events']} 处。请逐项确认措施中的时限和责任人。")


def _pick_causes(result: Draft, mode: str) -> Draft:
    """Offer the bank's candidate reasons for causes the model could not write (see ``--causes``)."""
    import sys

    from rag.draft.revise import choose_cause, waiting_causes

    waiting = waiting_causes(result)
    if not waiting or mode == "keep" or (mode == "ask" and not sys.stdin.isatty()):
        if waiting:
            console.print(f"有 {len(waiting)} 条原因待确认：草稿中是通用表述或标注了【请选择或填写】，可加 --causes first "
                          "取第一条候选，或在界面上选择。")
        return result
    for item in waiting:
        pick: int | str = 1
        if mode == "ask":
            console.print(f"\n[bold]{item.heading}[/bold]：模型没有写出合格的原因，请选择一条候选（0 保留现有表述，也可直接输入自己的话）")
            for i, cand in enumerate(item.candidates, start=1):
                console.print(f"  {i}. {cand}")
            raw = typer.prompt("选择", default="1").strip()
            pick = int(raw) if raw.isdigit() else raw
        result = choose_cause(result, item.id, pick)
    return result


def _save_partial(exc: DraftInterrupted, target: Path, to_markdown: Callable[[Draft], str]) -> None:
    """Write an interrupted draft next to ``target`` as ``<name>.未完成.md`` and say where it is."""
    path = target.with_name(f"{target.stem}.未完成.md")
    try:
        path.write_text(to_markdown(exc.partial), encoding="utf-8")
    except OSError as err:
        console.print(f"[red]未完成的草稿也没能保存：[/red]{err}")
        return
    console.print(f"[yellow]起草中断，已写好的部分已保存到 {path}[/yellow]（没写完的条目标注了【未生成】，可重新起草或手工补写）")


@app.command("eval-critic")
def eval_critic(
    dataset: Path = typer.Argument(Path("evals/datasets/critique_dev.yaml"), help="带标注的批改数据集（YAML）"),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="列出漏报和误报"),
) -> None:
    """按规则族报告批改器的精确率和召回率。"""
    from rich.table import Table

    from rag.evals.critic_quality import evaluate_dataset

    summary, results = evaluate_dataset(dataset)
    table = Table("规则族", "精确率", "召回率", "命中", "误报", "标注数")

    def pct(v):
        return "—" if v is None else f"{v:.2f}"

    for fam, v in summary["families"].items():
        table.add_row(fam, pct(v["precision"]), pct(v["recall"]), str(v["tp"]), str(v["fp"]), str(v["labels"]))
    o = summary["overall"]
    table.add_row("总体", pct(o["precision"]), pct(o["recall"]), str(o["tp"]), str(o["fp"]), str(o["labels"]))
    out.print(table)
    if verbose:
        for r in results:
            for f in r.fp:
                out.print(f"误报 {r.id} {f['rule']} “{f['quote'][:30]}”")
            for e in r.fn:
                out.print(f"漏报 {r.id} {e['family']} “{e.get('quote') or ''}”")


_mount_kb()


def _mount_eval() -> None:
    from rag.evals import cli as eval_cli

    app.add_typer(eval_cli.app, name="eval", help="批量评测：运行数据集、报告、比较（可作门禁）")


_mount_eval()

if __name__ == "__main__":  # pragma: no cover
    app()
