"""Shared pieces of the Streamlit pages: settings and model for this session, stores, error display,
and small presentation helpers (HTML for highlighted drafts, tables for metrics).

Pages stay thin: everything that decides something lives in ``rag`` (the model pool, the readable stream and
the eval dataset listing in ``rag.app_support``, reading and saving uploads in ``rag.uploads``, rule-family
labels in ``rag.critic.model``); this module only adapts it to Streamlit (session state, widgets, HTML/CSS,
DataFrames).
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st
from langchain_core.language_models import BaseChatModel

from rag.app_support import ModelPool, in_background, model_key, read_ahead_key
from rag.config import PROJECT_ROOT, Settings, get_settings
from rag.critic.model import LEVEL_LABELS, family_label
from rag.draft.facts import UnitFacts, facts_from_dict
from rag.draft.schemas import Draft
from rag.errors import ZhaojingError
from rag.frames import Frame, selectable_frames
from rag.kb import store as kb_store
from rag.llm import get_chat_model
from rag.llm.fake import FakeChatModel
from rag.store import DraftStore

EXAMPLES_DIR = PROJECT_ROOT / "examples" / "facts"
MODEL_KEY = "chat_model"
OVERRIDES_KEY = "llm_overrides"
FAKE_SCRIPT_ENV = "ZHAOJING_FAKE_SCRIPT"
BACKEND_LABELS = {"embedded": "内置离线模型", "openai": "OpenAI 兼容接口", "fake": "测试模型（不调用任何模型）"}
KIND_LABELS = {"policy": "政策文件", "past_material": "往年材料", "exemplar": "示范材料", "case": "典型案例"}
LEVEL_BADGES = {"error": ":red-badge[错误]", "warning": ":orange-badge[警告]", "suggestion": ":blue-badge[建议]"}
AUTO_FRAME = "自动识别"
_POOL = ModelPool()

# ------------------------------------------------------------------------------ settings and model

def effective_settings() -> Settings:
    """The environment's settings with this session's choices from the 设置 page applied."""
    overrides = st.session_state.get(OVERRIDES_KEY) or {}
    base = get_settings()
    return base.model_copy(update=overrides) if overrides else base


def set_overrides(overrides: dict[str, Any]) -> None:
    """Store the session's model settings and forget the cached model so the next call uses them."""
    st.session_state[OVERRIDES_KEY] = overrides
    st.session_state.pop(MODEL_KEY, None)


def _fake_model() -> FakeChatModel:
    """The fake model, scripted by ``ZHAOJING_FAKE_SCRIPT`` when set (see :meth:`FakeChatModel.from_script`)."""
    return FakeChatModel.from_script(os.environ.get(FAKE_SCRIPT_ENV))


def get_model() -> BaseChatModel:
    """This session's chat model: an injected one (tests), else built from the effective settings.

    Real models are shared by all sessions (the embedded model is loaded once); the fake model is per
    session because its response queue is state.
    """
    if MODEL_KEY in st.session_state:
        return st.session_state[MODEL_KEY]
    settings = effective_settings()
    if settings.llm == "fake":
        model: BaseChatModel = _fake_model()
    else:
        model = _shared_model(settings)
    st.session_state[MODEL_KEY] = model
    return model


def _shared_model(settings: Settings) -> BaseChatModel:
    """The process-wide model for these settings (see :class:`rag.app_support.ModelPool`), built on first use."""
    return _POOL.get(settings, get_chat_model)


def warm_model_in_background() -> None:
    """Load the embedded model and have it read the shared prompt prefix, once per process, in a
    background thread at app start: the first draft then starts writing within seconds. Other
    backends gain nothing and are left alone; failures are only logged (the draft page reports them)."""
    settings = effective_settings()
    if settings.llm != "embedded" or not _POOL.first_time(f"warm-up {model_key(settings)!r}"):
        return

    def job() -> None:
        from rag.draft.pipeline import warm_up

        warm_up(_shared_model(settings))

    in_background("warm-up", job)


def read_ahead_in_background(facts) -> None:
    """Once per facts (and model), have the embedded model read the draft's first prompt in a
    background thread while the user looks the facts over: the draft then starts writing at once
    instead of after ~5 s of prompt reading. A no-op for other backends and for the injected test model."""
    settings = effective_settings()
    if settings.llm != "embedded" or MODEL_KEY in st.session_state and not _POOL.holds(st.session_state[MODEL_KEY]):
        return
    if not _POOL.first_time(read_ahead_key(settings, facts)):
        return
    model, kb = get_model(), kb_or_none()

    def job() -> None:
        from rag.draft.pipeline import read_ahead

        read_ahead(facts, model, kb)

    in_background("read-ahead", job)


def safe_url(url: str | None) -> str:
    """An endpoint address for display: any ``user:password@`` part is hidden."""
    if not url:
        return "未配置地址"
    return re.sub(r"(^[a-zA-Z][a-zA-Z0-9+.-]*://)[^/@]*@", r"\1***@", url)


def backend_label(settings: Settings) -> str:
    """Human-readable description of the model backend."""
    label = BACKEND_LABELS.get(settings.llm, settings.llm)
    if settings.llm == "openai":
        host = re.sub(r"^https?://", "", safe_url(settings.openai_base_url)).split("/")[0]
        return f"{label}：{settings.model or '默认模型'} @ {host}"
    if settings.llm == "embedded" and settings.gguf:
        return f"{label}（{Path(settings.gguf).name}）"
    return label


def sidebar_status() -> None:
    """Model backend and a clear privacy indicator in the sidebar."""
    settings = effective_settings()
    with st.sidebar:
        st.caption("模型")
        st.markdown(f"**{backend_label(settings)}**")
        if settings.is_remote:
            st.error("数据将发送到远程服务", icon=":material/warning:")
            st.caption("发送前会先把人名、手机号、身份证号、邮箱替换为占位符。")
        else:
            st.success("离线模式：数据不离开本机", icon=":material/lock:")


def session_cached(name: str, key: object, compute):
    """``compute()`` once per ``key`` for this session (e.g. a .docx per draft version), then reused."""
    slots = st.session_state.setdefault("_zj_cache", {})
    if name not in slots or slots[name][0] != key:
        slots[name] = (key, compute())
    return slots[name][1]


def frame_picker(key: str, help: str) -> Frame | None:
    """A “会议框架” selectbox: “自动识别” (None), then every frame that can be picked, by name."""
    frames = {f.id: f for f in selectable_frames()}
    choice = st.selectbox("会议框架", [AUTO_FRAME, *frames], key=key, help=help,
                          format_func=lambda fid: frames[fid].name if fid in frames else fid)
    return frames.get(choice)


# ------------------------------------------------------------------------------ errors

def show_error(exc: ZhaojingError) -> None:
    """A user-facing error: what went wrong (red) and what to do next (blue)."""
    st.error(exc.message)
    if exc.hint:
        st.info(exc.hint)


@contextmanager
def user_errors() -> Iterator[None]:
    """Show any ZhaojingError raised inside the block instead of crashing the page."""
    try:
        yield
    except ZhaojingError as exc:
        show_error(exc)


# ------------------------------------------------------------------------------ stores

def get_kb():
    """The knowledge base for the configured data directory (process-wide)."""
    return kb_store.get_kb()


def kb_or_none():
    """The knowledge base, or None when it cannot be opened (drafting then runs without citations)."""
    try:
        return get_kb()
    except ZhaojingError:
        return None


@st.cache_resource(show_spinner=False)
def _draft_store(path: str) -> DraftStore:
    return DraftStore(path)


def draft_store() -> DraftStore:
    """The draft store in ``<data_dir>/drafts.sqlite`` (one per data directory, shared by sessions)."""
    return _draft_store(str(get_settings().data_dir / "drafts.sqlite"))


# ------------------------------------------------------------------------------ facts

def example_files() -> list[Path]:
    """The example facts files shipped in examples/facts/."""
    return sorted(EXAMPLES_DIR.glob("*.yaml"))


def facts_from_form(form: dict[str, Any], table: pd.DataFrame) -> UnitFacts:
    """UnitFacts from the 起草 form: empty rows dropped, empty numbers left out; validated by rag."""
    rows = [
        {k: str(v).strip() for k, v in row.items() if v is not None and str(v).strip() and str(v) != "nan"}
        for row in table.to_dict("records")
    ]
    data: dict[str, Any] = {
        "unit": form.get("unit", ""),
        "meeting_type": form.get("meeting_type"),
        "year": form.get("year"),
        "facts": [r for r in rows if r.get("text")],
        "preparation": {k: v for k in ("study_sessions", "talks", "opinions")
                        if (v := form.get(k)) is not None},
    }
    if form.get("meeting_date"):
        data["meeting_date"] = form["meeting_date"]
    if form.get("writer_role"):
        data["writer"] = {"role": form["writer_role"]}
    return facts_from_dict(data)


def facts_table(facts: UnitFacts) -> pd.DataFrame:
    """The facts as a table with Chinese column names."""
    return pd.DataFrame(
        [{"编号": f.id, "类别": f.category, "内容": f.text, "来源": f.source} for f in facts.facts]
    )


def facts_summary(facts: UnitFacts) -> str:
    """One line: unit, type, year, number of facts."""
    return f"{facts.unit} · {facts.meeting_type}材料 · {facts.year}年度 · 事实 {len(facts.facts)} 条"


# ------------------------------------------------------------------------------ drafts

def load_saved(store: DraftStore, draft_id: int, version_no: int | None = None) -> tuple[UnitFacts, Draft, int]:
    """Facts, structured draft and version number of a saved draft version (latest by default)."""
    record = store.get_draft(draft_id)
    version = store.get_version(draft_id, version_no)
    facts = facts_from_dict(json.loads(record.facts_json))
    return facts, Draft.model_validate_json(version.structured_json), version.version_no


def item_label(item_id: str, text: str) -> str:
    """Short label of a draft item for pickers."""
    return f"{item_id} · {text[:28]}{'…' if len(text) > 28 else ''}"


MARKERS = re.compile(r"【(?:请补充|待核实|待补充|未生成|正在撰写)[^】]*】")
H1_LINE = re.compile(r"^(?:[一二三四五六七八九十]+、|第[一二三四五六七八九十]+部分)")
H2_LINE = re.compile(r"^[（(][一二三四五六七八九十]+[）)]")
DRAFT_CSS = """<style>
.zj-draft{font-family:"Noto Serif CJK SC","FangSong","仿宋",serif;font-size:1.05rem;line-height:1.9;
  background:#fff;border:1px solid #e5e5e5;border-radius:6px;padding:1.2em 1.6em}
.zj-draft .t{text-align:center;font-weight:700;font-size:1.3rem;margin:.2em 0 .8em}
.zj-draft .h1{font-family:"Noto Sans CJK SC","SimHei",sans-serif;font-weight:700;margin-top:.6em}
.zj-draft .h2{font-weight:700}
.zj-draft p{margin:0 0 .25em;text-indent:2em}
.zj-draft .t,.zj-draft .h1,.zj-draft .h2{text-indent:0}
.zj-draft mark.gap{background:#ffe0b2;border-bottom:2px solid #e65100;padding:0 2px}
</style>"""


def draft_html(markdown: str) -> str:
    """A draft's text as HTML: title centred, 一、/（一） headings bold, gap markers highlighted."""
    out = []
    for i, line in enumerate(ln.strip().lstrip("#").strip() for ln in markdown.splitlines()):
        if not line:
            continue
        body = MARKERS.sub(lambda m: f'<mark class="gap">{m.group(0)}</mark>', html.escape(line))
        cls = "t" if i == 0 else "h1" if H1_LINE.match(line) else "h2" if H2_LINE.match(line) else ""
        out.append(f'<p class="{cls}">{body}</p>' if cls else f"<p>{body}</p>")
    return f'{DRAFT_CSS}<div class="zj-draft">{"".join(out)}</div>'


# ------------------------------------------------------------------------------ critique display

HIGHLIGHT_CSS = """<style>
.zj-doc{font-size:1rem;line-height:1.9;background:#fff;border:1px solid #e5e5e5;border-radius:6px;
  padding:1em 1.3em;max-height:70vh;overflow-y:auto}
.zj-doc mark{border-bottom:2px solid;padding:0 1px;color:inherit}
.zj-doc mark.f-error,.zj-legend .f-error{background:#f8d7da;border-color:#c0392b}
.zj-doc mark.f-warning,.zj-legend .f-warning{background:#fff3cd;border-color:#b7950b}
.zj-doc mark.f-suggestion,.zj-legend .f-suggestion{background:#d1ecf1;border-color:#2874a6}
.zj-legend{font-size:.9rem;margin:.2em 0 .6em}
.zj-legend span{border-bottom:2px solid;padding:1px 6px;margin-right:.8em;border-radius:2px}
</style>"""


def legend_html() -> str:
    """Colour legend: 错误 red, 警告 amber, 建议 blue."""
    spans = "".join(f'<span class="f-{k}">{LEVEL_LABELS[k]}</span>' for k in ("error", "warning", "suggestion"))
    return f'<div class="zj-legend">图例：{spans}（鼠标停在标记上可看到问题说明）</div>'


def highlighted_doc(body_html: str) -> str:
    """The highlighted draft (from ``rag.critic.render.highlight_html``) with CSS and legend."""
    return f'{HIGHLIGHT_CSS}{legend_html()}<div class="zj-doc">{body_html}</div>'


# ------------------------------------------------------------------------------ evaluation

def metric_label(key: str) -> str:
    """Chinese label of an eval metric."""
    from rag.evals.metrics import METRICS

    return METRICS[key].label if key in METRICS else key


def drafting_metrics_frame(summary: dict) -> pd.DataFrame:
    """Metric × system table of a drafting run (means over cases), with direction arrows."""
    from rag.evals.metrics import METRICS
    from rag.evals.report import SYSTEM_LABELS, fmt

    systems = list(summary["systems"])
    rows = []
    for key, meta in METRICS.items():
        vals = [summary["systems"][s]["metrics"].get(key) for s in systems]
        if all(v is None for v in vals) and not any(key in summary["systems"][s]["metrics"] for s in systems):
            continue
        row = {"类别": meta.group, "指标": f"{meta.label}{'↑' if meta.direction > 0 else '↓'}"}
        row.update({SYSTEM_LABELS.get(s, s): fmt(v) for s, v in zip(systems, vals, strict=True)})
        rows.append(row)
    return pd.DataFrame(rows)


def drafting_chart_frame(summary: dict) -> pd.DataFrame:
    """Long format of the 0–1 metrics for the grouped bar chart."""
    from rag.evals.metrics import METRICS
    from rag.evals.report import SYSTEM_LABELS

    rows = []
    for s, v in summary["systems"].items():
        for key, value in v["metrics"].items():
            meta = METRICS.get(key)
            if meta and meta.unit == "" and value is not None and 0 <= value <= 1 and "per_k" not in key:
                rows.append({"指标": meta.label, "对象": SYSTEM_LABELS.get(s, s), "数值": value})
    return pd.DataFrame(rows)


def compare_table(cmp: dict) -> pd.DataFrame:
    """Metric changes between two runs (from ``rag.evals.compare.as_dict``)."""
    from rag.evals.report import SYSTEM_LABELS, fmt

    bad = {(r["system"], r["metric"]) for r in cmp["regressions"]}
    return pd.DataFrame([
        {"对象": SYSTEM_LABELS.get(c["system"], c["system"]), "指标": c["label"], "A": fmt(c["before"]),
         "B": fmt(c["after"]), "变化": "—" if c["delta"] is None else f"{c['delta']:+.3f}",
         "结论": "退步超出容差" if (c["system"], c["metric"]) in bad else ""}
        for c in cmp["changes"]
    ])


METRIC_COLUMNS = {"precision": "精确率", "recall": "召回率", "f1": "F1", "tp": "命中", "fp": "误报",
                  "labels": "标注", "found": "已检出"}


def metrics_frame(summary: dict) -> pd.DataFrame:
    """Per-family metrics (from ``rag.evals.critic_quality.summarise``) plus an overall row."""
    rows = [{"名称": family_label(fam), "规则族": fam, **{label: m.get(key) for key, label in METRIC_COLUMNS.items()}}
            for fam, m in summary["families"].items()]
    rows.append({"名称": "全部规则", "规则族": "全部",
                 **{label: summary["overall"].get(key) for key, label in METRIC_COLUMNS.items()}})
    return pd.DataFrame(rows)


def rates_for_display(frame: pd.DataFrame, signed: list[str] | None = None) -> pd.DataFrame:
    """Rates as text with two decimals (``+0.05`` for ``signed`` columns) and “—” where undefined."""
    out = frame.copy()
    for col in (c for c in frame.columns if any(k in c for k in ("精确率", "召回率", "F1"))):
        fmt = "{:+.2f}" if col in (signed or []) else "{:.2f}"
        out[col] = [fmt.format(v) if v is not None and not pd.isna(v) else "—" for v in frame[col]]
    return out


def chart_frame(summary: dict) -> pd.DataFrame:
    """Long format for the precision/recall bar chart (families with a value only)."""
    return pd.DataFrame([
        {"规则族": family_label(fam), "指标": label, "数值": m[key]}
        for fam, m in summary["families"].items()
        for key, label in (("precision", "精确率"), ("recall", "召回率"))
        if m.get(key) is not None
    ])


def kind_label(kind: str | None) -> str:
    """Chinese label of a knowledge-base kind."""
    return KIND_LABELS.get(kind or "", kind or "未分类")
