"""The critic's Python API: ``critique`` one draft, ``critique_batch`` several (with 雷同 detection)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path

from pydantic import BaseModel, Field

from rag.critic.checks import CHECKS, Context
from rag.critic.model import LEVELS, CriticConfig, Finding, Rule, load_rules
from rag.critic.parse import PART_LABELS, parse
from rag.critic.similarity import ShingleIndex, clean
from rag.errors import InputError
from rag.frames import Frame, get_frame, load_frames, select_frame
from rag.genre import MARKER

MAX_CHARS = 300_000
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")  # control characters other than \t \n \r
LEVEL_PENALTY = {"error": 8, "warning": 3, "suggestion": 1}


class Inferred(BaseModel):
    """What the critic assumed about the draft, and whether it was inferred or given."""

    year: int | None = None
    meeting_type: str | None = None
    frame: str | None = None
    frame_name: str | None = None
    inferred: list[str] = Field(default_factory=list)


class Report(BaseModel):
    """Findings for one draft plus a readable summary."""

    name: str = ""
    findings: list[Finding]
    summary: dict
    context: Inferred

    @property
    def has_errors(self) -> bool:
        return any(f.level == "error" for f in self.findings)

    def to_json(self) -> dict:
        """The documented JSON shape: findings plus summary (and what was inferred)."""
        keys = ("rule", "level", "part", "start", "end", "quote", "message", "suggestion", "basis", "detail")
        return {
            "name": self.name,
            "findings": [{k: getattr(f, k) for k in keys} for f in self.findings],
            "summary": self.summary,
            "context": self.context.model_dump(),
        }


def check_text(text: object) -> str:
    """Validate a draft's text; raise InputError in Chinese for empty, huge or binary input."""
    if not isinstance(text, str):
        raise InputError("草稿内容不是文本", "请粘贴文字，或上传 .docx / .txt / .md 文件")
    if not text.strip():
        raise InputError("草稿是空的", "请粘贴或上传要批改的材料")
    if len(text) > MAX_CHARS:
        raise InputError(f"草稿过长（{len(text):,} 字符，上限 {MAX_CHARS:,}）", "请拆分后分别批改，或只粘贴需要批改的部分")
    controls = len(_CONTROL.findall(text))
    if controls > max(10, len(text) // 50) or "\x00" in text:
        raise InputError("内容看起来不是文本（含有大量控制字符）", "请确认文件格式，.docx 请用上传功能而不是直接粘贴二进制内容")
    return text


def infer_year(text: str) -> int | None:
    """The 年度 a draft belongs to, from phrases like “2025年度” or the title's year."""
    head = text[:600]
    m = re.search(r"(20\d{2})\s*年度", head) or re.search(r"(20\d{2})\s*年度", text)
    if m:
        return int(m.group(1))
    if "主题教育" in head and "专题" in head:
        return 2023
    m = re.search(r"(20\d{2})\s*年", head)
    return int(m.group(1)) if m else None


def infer_meeting_type(text: str) -> str | None:
    """班子 / 个人 / 支部 from the title and the voice of the text."""
    head = text[:300]
    if re.search(r"个人|发言提纲|本人", head):
        return "个人"
    if "支部" in head and "班子" not in head:
        return "支部"
    if "班子" in head:
        return "班子"
    first = len(re.findall(r"我(?!们|局|院|校|委|单位|市|县|区)|本人", text))
    team = len(re.findall(r"班子|我们|支部委员会", text))
    if first >= 3 and first > team:
        return "个人"
    if "支部" in text[:1000]:
        return "支部"
    return "班子" if team else None


def _context(text: str, year: int | None, meeting_type: str | None, frame_id: str | None,
             frame_obj: Frame | None = None) -> Inferred:
    inf = Inferred(year=year, meeting_type=meeting_type)
    if inf.year is None:
        inf.year = infer_year(text)
        inf.inferred.append("year")
    if inf.meeting_type is None:
        inf.meeting_type = infer_meeting_type(text)
        inf.inferred.append("meeting_type")
    frame = frame_obj or (get_frame(frame_id) if frame_id else _frame_for(text, inf.year, inf.meeting_type))
    if frame_id is None and frame_obj is None:
        inf.inferred.append("frame")
    if frame:
        inf.frame, inf.frame_name = frame.id, frame.name
    return inf


def _frame_for(text: str, year: int | None, meeting_type: str | None) -> Frame | None:
    """Default frame for year and type; when several fit, the one whose aspects the text names most."""
    cands = [f for f in load_frames() if year in f.years and (meeting_type is None or meeting_type in f.meeting_types)]
    if not cands:
        return select_frame(year, meeting_type)
    return max(cands, key=lambda f: (sum(a.matches(text) for a in f.aspects), f.priority))


def _score(findings: list[Finding]) -> tuple[int, str]:
    score = max(0, 100 - sum(LEVEL_PENALTY[f.level] for f in findings))
    grade = "基本可用，可提交审阅" if score >= 85 else "需要修改后再提交" if score >= 60 else "问题较多，建议重写"
    return score, grade


def summarise(findings: list[Finding], inferred: Inferred) -> dict:
    """Counts per level, part and family; the score and what it means."""
    score, grade = _score(findings)
    return {
        "score": score,
        "grade": grade,
        "levels": {lv: sum(f.level == lv for f in findings) for lv in reversed(LEVELS)},
        "parts": dict(Counter(PART_LABELS.get(f.part, f.part) for f in findings)),
        "families": dict(Counter(f.family for f in findings)),
        "inferred": {k: getattr(inferred, k) for k in inferred.inferred},
    }


def active_rules(config: CriticConfig, rules: Iterable[Rule] | None = None) -> list[Rule]:
    """Rules switched on by the config."""
    return [r for r in (rules or load_rules()) if config.allows(r)]


def critique(
    text: str,
    *,
    year: int | None = None,
    meeting_type: str | None = None,
    frame_id: str | None = None,
    config: CriticConfig | None = None,
    corpus: ShingleIndex | None = None,
    known_text: str | None = None,
    frame: Frame | None = None,
    batch: ShingleIndex | None = None,
    batch_key: str = "",
    quote_sources: Callable[[str], bool] | None = None,
    rules: Iterable[Rule] | None = None,
    name: str = "",
) -> Report:
    """Critique one draft. All arguments but ``text`` are optional; missing context is inferred.

    ``frame`` (a Frame object, e.g. one written inline in a facts file) takes precedence over ``frame_id``.
    """
    text = check_text(text)
    config = config or CriticConfig()
    inf = _context(text, year, meeting_type, frame_id, frame)
    frame = frame or (get_frame(inf.frame) if inf.frame else None)
    aspect_words = [k for f in load_frames() for a in f.aspects for k in a.keywords]
    doc = parse(text, aspect_words)
    ctx = Context(
        doc=doc, meeting_type=inf.meeting_type, year=inf.year, frame=frame, generated=known_text is not None,
        corpus=corpus, batch=batch, batch_key=batch_key, known_text=known_text, quote_sources=quote_sources,
    )
    findings: list[Finding] = []
    for rule in active_rules(config, rules):
        if not rule.applies(inf.meeting_type, inf.year, ctx.generated):
            continue
        rule = _with_overrides(rule, config)
        findings.extend(CHECKS[rule.type](rule, ctx))
    findings = _outside_markers(_dedupe(findings), text)
    return Report(name=name, findings=findings, summary=summarise(findings, inf), context=inf)


def _with_overrides(rule: Rule, config: CriticConfig) -> Rule:
    extra = config.params.get(rule.id)
    return rule.model_copy(update={"params": {**rule.params, **extra}}) if extra else rule


GAP_MARKER = MARKER
ITEM_PREFIX = re.compile(r"^[\s一二三四五六七八九十是（）()\d.．、]*")


def _outside_markers(findings: list[Finding], text: str) -> list[Finding]:
    """Drop findings whose span is only a gap marker (【请补充：…】 and the like) plus its item number.

    A gap marker is already reported once, as an unfilled placeholder; “no concrete instance” or “no
    measure for this aspect” about the marker itself only repeats that.
    """
    spans = [(m.start(), m.end()) for m in GAP_MARKER.finditer(text)]
    if not spans:
        return findings
    out = []
    for f in findings:
        if f.rule.startswith("placeholder.") or f.end <= f.start:
            out.append(f)
            continue
        covered = [max(a, f.start) for a, b in spans if a < f.end and f.start < b]
        if not covered:
            out.append(f)
            continue
        rest = "".join(ch for i, ch in enumerate(text[f.start:f.end], start=f.start)
                       if not any(a <= i < b for a, b in spans))
        if re.search(r"[\u4e00-\u9fff]{2,}", ITEM_PREFIX.sub("", rest)):
            out.append(f)
    return out


def _dedupe(findings: list[Finding]) -> list[Finding]:
    seen, out = set(), []
    for f in sorted(findings, key=lambda f: (f.start, f.end, -LEVELS.index(f.level), f.rule)):
        key = (f.rule, f.start, f.end)
        if key not in seen:
            seen.add(key)
            out.append(f)
    return out


def critique_batch(texts: dict[str, str], **kwargs) -> list[Report]:
    """Critique several drafts; paragraphs shared between drafts are flagged as 雷同."""
    index = ShingleIndex(threshold=0.3)
    for name, text in texts.items():
        if isinstance(text, str):
            for i, para in enumerate(p for p in text.split("\n") if len(clean(p)) >= 40):
                index.add(f"{name}#{i}", para, {"title": name, "kind": "batch"})
    out = []
    for name, text in texts.items():
        out.append(critique(text, batch=index, batch_key=name, name=name, **kwargs))
    return out


def load_config(path: Path | None = None) -> CriticConfig:
    """The user's critic config: explicit path, else ``<data_dir>/critic.yaml`` if present."""
    if path is None:
        from rag.config import get_settings

        path = get_settings().data_dir / "critic.yaml"
    return CriticConfig.load(path)


WRAP_HEADINGS = {"problems": "一、存在的问题\n", "causes": "二、原因分析\n", "measures": "三、整改措施\n",
                 "case": "四、反面典型案例剖析\n"}


def run_example(rule: Rule, example) -> list[Finding]:
    """Run one rule alone on one of its examples (used by the meta-test and ``zhaojing rules check``)."""
    from rag.critic.model import Example

    ex = example if isinstance(example, Example) else Example(text=example)
    text = ex.text
    wrap = ex.wrap if ex.wrap is not None else rule.scope[0] in WRAP_HEADINGS
    if wrap and not re.match(r"^\s*[一二三四五六七八九十]+、", text):
        text = WRAP_HEADINGS.get(rule.scope[0], "") + text
    corpus = None
    if ex.corpus:
        corpus = ShingleIndex(threshold=0.3)
        for i, t in enumerate(ex.corpus):
            corpus.add(f"ref{i}", t, {"kind": ex.corpus_kind, "title": f"示例{i + 1}"})
    batch = None
    if ex.others:
        batch = ShingleIndex(threshold=0.3)
        for i, t in enumerate(ex.others):
            batch.add(f"other{i}#0", t, {"kind": "batch", "title": f"其他材料{i + 1}"})
    quotes = (lambda q: any(clean(q) in clean(s) for s in ex.quotes)) if ex.quotes else None
    report = critique(
        text, year=ex.year or 2025, meeting_type=ex.meeting_type or rule.applies_to.meeting_types[0],
        rules=[rule.model_copy(update={"enabled": True})], corpus=corpus, batch=batch, batch_key="self" if batch else "",
        quote_sources=quotes, known_text=ex.known,
    )
    return [f for f in report.findings if f.rule == rule.id]
