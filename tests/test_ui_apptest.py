"""Streamlit pages driven headlessly with AppTest (ZHAOJING_LLM=fake, temp data dir, no network)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from pydantic import SecretStr
from samples import MINI_TITLE, SLOT, WEAK
from streamlit.testing.v1 import AppTest

from rag.config import get_settings
from rag.embed import FakeEmbedder
from rag.evals.scripted import ScriptedChatModel
from rag.kb import store as kb_store
from rag.kb.store import KnowledgeBase
from rag.llm.fake import FakeChatModel
from rag.store import DraftStore

ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 120

F2_PROBLEM = {"items": [{
    "fact_ids": ["F2"], "summary": "对下属企业监督缺位",
    "instance": "2025年5月县委第三巡察组反馈，局党组对下属文旅公司“三重一大”事项监督缺位，2项景区维护工程没有经过集体研究",
    "reflection": "",
}]}


@pytest.fixture(autouse=True)
def _project_on_path(monkeypatch):
    """Pages import ``ui.common``; ``streamlit run ui/app.py`` puts the root on sys.path, tests do it here."""
    monkeypatch.syspath_prepend(str(ROOT))
    monkeypatch.chdir(ROOT)


def page(name: str) -> AppTest:
    return AppTest.from_file(str(ROOT / "ui" / "views" / f"{name}.py"), default_timeout=TIMEOUT)


def texts(at: AppTest) -> str:
    """All visible text of common element types, joined (for "is it shown" / "is it never shown")."""
    parts = []
    for kind in ("markdown", "caption", "error", "info", "success", "warning", "title", "subheader", "text", "html",
                 "metric", "exception"):
        for el in getattr(at, kind):
            parts.append(str(getattr(el, "value", "")) + str(getattr(el, "label", "")))
    for el in at.text_input:
        parts.append(str(el.value))
    return "\n".join(parts)


# ------------------------------------------------------------------------------ app shell

def test_app_navigation_and_offline_indicator():
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=TIMEOUT).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["起草"]  # default page
    assert any("离线模式：数据不离开本机" in s.value for s in at.sidebar.success)
    assert not at.sidebar.error
    at.switch_page("views/critique.py").run()
    assert [t.value for t in at.title] == ["批改"]


def test_app_shows_red_indicator_for_remote_backend():
    at = AppTest.from_file(str(ROOT / "ui" / "app.py"), default_timeout=TIMEOUT)
    at.session_state["llm_overrides"] = {"llm": "openai", "openai_base_url": "https://api.deepseek.com/v1",
                                         "model": "deepseek-chat"}
    at.run()
    assert any("数据将发送到远程服务" in e.value for e in at.sidebar.error)
    assert not at.sidebar.success
    assert any("deepseek-chat @ api.deepseek.com" in m.value for m in at.sidebar.markdown)


# ------------------------------------------------------------------------------ 批改

def critique_run(text: str) -> AppTest:
    at = page("critique").run()
    at.text_area(key="critique_text").set_value(text)
    at.button(key="run_critique").click().run()
    return at


def test_critique_shows_score_highlights_findings_and_downloads():
    at = critique_run(WEAK)
    assert not at.exception and not at.error
    score = next(m for m in at.metric if m.label == "得分")
    assert int(score.value) < 85
    doc = at.html[0].value
    assert '<mark class="f-' in doc and "有时" in doc and "图例" in doc
    labels = [e.label for e in at.expander]
    assert any(label.startswith("问题（") for label in labels)
    assert any(label.startswith("措施（") for label in labels)
    shown = texts(at)
    assert "建议：" in shown and "依据：" in shown and "年度：2025年度" in shown
    assert {b.label for b in at.download_button} == {"下载 HTML 报告", "下载带批注的 Word"}


def test_critique_level_filter_limits_findings():
    at = critique_run(WEAK)
    at.multiselect(key="flt_level").set_value(["error"]).run()
    findings = [m.value for m in at.markdown if "-badge[" in m.value]
    assert findings and all(m.startswith(":red-badge[错误]") for m in findings)
    assert '<mark class="f-warning"' not in at.html[0].value and '<mark class="f-error"' in at.html[0].value


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "草稿是空的"), ("   \n  ", "草稿是空的"), ("字" * 300_001, "草稿过长"),
     ("abc\x00\x01\x02" * 50, "内容看起来不是文本")],
)
def test_critique_bad_input_shows_error(text, message):
    at = critique_run(text)
    assert not at.exception
    assert any(message in e.value for e in at.error)
    assert at.info  # the hint
    assert not at.metric


def test_critique_reads_uploaded_gbk_text():
    at = page("critique").run()
    at.file_uploader(key="critique_upload").set_value(("草稿.txt", WEAK.encode("gbk"), "text/plain")).run()
    assert any("已读取文件：草稿.txt" in c.value for c in at.caption)
    at.button(key="run_critique").click().run()
    assert any(m.label == "得分" for m in at.metric)


def test_critique_unreadable_upload_is_an_error_not_a_crash():
    at = page("critique").run()
    at.file_uploader(key="critique_upload").set_value(("坏文件.docx", b"not a zip at all", "application/octet-stream"))
    at.run()
    assert not at.exception
    assert at.error
    assert at.button(key="run_critique").disabled


# ------------------------------------------------------------------------------ 起草

def draft_model() -> FakeChatModel:
    return ScriptedChatModel()


def generate_mini() -> AppTest:
    at = page("draft")
    at.session_state["chat_model"] = draft_model()
    at.run()
    at.selectbox(key="example").set_value(ROOT / "examples" / "facts" / "mini.yaml").run()
    at.button(key="generate").click().run()
    return at


def test_draft_generates_streams_and_saves_version_1():
    at = generate_mini()
    assert not at.exception and not at.error
    html = at.html[0].value
    assert MINI_TITLE in html
    assert "2025年“送戏下乡”演出48场" in html
    assert '<mark class="gap">【请补充' in html  # gaps are highlighted
    [status] = at.status
    assert status.label.startswith("起草完成")
    lines = [m.value for m in status.markdown]
    assert any(v.startswith("正在撰写问题：") for v in lines) and "已完成：措施部分" in lines
    assert any("批改得分" == m.label for m in at.metric)
    [saved] = DraftStore().list_drafts()
    assert saved.title == MINI_TITLE and saved.versions == 1
    assert dict(at.query_params) == {"draft": str(saved.id), "v": "1"}  # survives a refresh
    assert {b.label for b in at.download_button} == {"下载 Markdown", "下载 Word（公文格式）"}


def test_draft_chat_instruction_creates_version_2_and_restores_after_restart():
    at = generate_mini()
    rewrite = "2025年“送戏下乡”演出48场中有19场安排在农忙时节，班子没有事先征求乡镇意见"
    at.session_state["chat_model"] = FakeChatModel(responses=[{"text": rewrite}])
    at.chat_input(key="draft_chat").set_value("第一个问题再具体一些").run()
    assert not at.exception and not at.error
    assert rewrite in at.html[0].value
    [saved] = DraftStore().list_drafts()
    versions = DraftStore().versions(saved.id)
    assert [v.version_no for v in versions] == [1, 2]
    assert versions[1].note == "第一个问题再具体一些"
    assert any(s.value == "草稿（第2版）" for s in at.subheader)

    fresh = page("draft")  # a new session, as after a browser refresh or a server restart
    fresh.query_params["draft"] = str(saved.id)
    fresh.query_params["v"] = "1"
    fresh.run()
    assert any(s.value == "草稿（第1版）" for s in fresh.subheader)
    assert rewrite not in fresh.html[0].value
    picker = next(s for s in fresh.selectbox if s.label == "版本")
    picker.set_value(2).run()
    assert rewrite in fresh.html[0].value


def test_draft_regenerates_one_item():
    at = generate_mini()
    at.session_state["chat_model"] = FakeChatModel(responses=[{"text": "班子对下属文旅公司2项景区维护工程没有经过集体研究的问题失察"}])
    form_select = next(s for s in at.selectbox if s.label == "选择条目")
    target = next(o for o in form_select.options if o.startswith("P2"))
    form_select.select(target)
    next(t for t in at.text_input if t.label == "修改要求").input("突出班子责任")
    next(b for b in at.button if b.label == "重写这一条").click().run()
    assert not at.exception and not at.error
    [saved] = DraftStore().list_drafts()
    assert DraftStore().get_version(saved.id).note == "重写P2：突出班子责任"
    assert "没有经过集体研究的问题失察" in at.html[0].value


def test_draft_rewrites_a_whole_part_as_a_new_version():
    at = generate_mini()
    at.session_state["chat_model"] = FakeChatModel(responses=[
        "重排送戏下乡计划，避开农忙时节", "制定下属文旅公司重大事项报告办法", "印发文物安全巡查责任清单"])
    at.selectbox(key="rewrite_kind").select("measures")
    at.text_input(key="rewrite_instruction").input("措施要有完成标志")
    next(b for b in at.button if b.label == "重写这一部分").click().run()
    assert not at.exception and not at.error
    [saved] = DraftStore().list_drafts()
    assert saved.versions == 2
    assert DraftStore().get_version(saved.id).note == "重写整改措施：措施要有完成标志"
    assert "避开农忙时节" in at.html[0].value


def test_draft_form_errors_are_chinese():
    at = page("draft").run()
    at.radio(key="facts_source").set_value("填写表单").run()
    next(b for b in at.button if b.label == "使用这些事实").click().run()
    assert not at.exception
    assert at.error and any("单位" in e.value or "事实" in e.value for e in at.error)
    assert at.button(key="generate").disabled


def test_draft_model_failure_is_shown_not_raised():
    at = page("draft")
    at.session_state["chat_model"] = FakeChatModel(default_response="不是JSON")
    at.run()
    at.button(key="generate").click().run()
    assert not at.exception
    assert any("不合格" in e.value for e in at.error)
    assert all(DraftStore().get_version(d.id).note.startswith("未完成稿") for d in DraftStore().list_drafts())


class Listing(ScriptedChatModel):
    """Answers every reason with a list of the problems (refused by the checks): causes get candidates."""

    def _next_text(self, messages, stop, kwargs):
        text = super()._next_text(messages, stop, kwargs)
        return "送戏下乡、三重一大等问题，说明宗旨意识不强" if "原因剖析" in str(messages[0].content) else text


def test_draft_offers_candidate_reasons_and_saves_the_choice():
    at = page("draft")
    at.session_state["chat_model"] = Listing()
    at.run()
    at.selectbox(key="example").set_value(ROOT / "examples" / "facts" / "mini.yaml").run()
    at.button(key="generate").click().run()
    assert not at.exception and any("需要你来选" in i.value for i in at.info)
    radio = next(r for r in at.radio if r.label == "候选原因")
    picked = radio.options[1]
    radio.set_value(picked)
    next(b for b in at.button if b.label == "采用").click().run()
    assert not at.exception and not at.error
    [saved] = DraftStore().list_drafts()
    assert saved.versions == 2 and picked in at.html[0].value


# ------------------------------------------------------------------------------ 批量评测

@pytest.fixture
def tiny_dataset(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    cases = {"cases": [
        {"id": "weak-1", "text": WEAK, "expected": [
            {"family": "hedge", "quote": "有时"}, {"family": "empty", "quote": "进一步加强"},
            {"family": "cause", "quote": "理想信念有所松懈"}, {"family": "praise", "quote": "工作太投入"},
        ]},
        {"id": "weak-2", "text": WEAK.replace("有时", "经常"), "expected": [{"family": "empty", "quote": "切实提高"}]},
    ]}
    (folder / "tiny.yaml").write_text(yaml.safe_dump(cases, allow_unicode=True), encoding="utf-8")
    (folder / "other.yaml").write_text("version: 1\ncases:\n  - id: x\n    facts: a.yaml\n", encoding="utf-8")
    monkeypatch.setenv("ZHAOJING_EVAL_DATASETS", str(folder))
    return folder


def test_evaluate_runs_dataset_and_compares_runs(tiny_dataset):
    at = page("evaluate").run()
    assert at.selectbox(key="dataset").options == ["tiny.yaml（批改，2 例）"]  # other.yaml's facts file is missing
    at.button(key="run_eval").click().run()
    assert not at.exception and not at.error
    metrics = next(d.value for d in at.dataframe if "规则族" in d.value.columns and "精确率" in d.value.columns)
    by_family = metrics.set_index("规则族")
    assert by_family.loc["hedge", "召回率"] == "1.00"
    assert by_family.loc["praise", "召回率"] == "0.00"  # labelled but not found
    assert by_family.loc["praise", "精确率"] == "—"  # never reported: precision undefined
    assert 0 < float(by_family.loc["全部", "精确率"]) < 1
    assert by_family.loc["hedge", "名称"] == "弱化词"
    assert {b.label for b in at.download_button} == {"下载 CSV", "下载 HTML 报告"}
    live = next(d.value for d in at.dataframe if "编号" in d.value.columns)
    assert list(live["编号"]) == ["weak-1", "weak-2"]
    assert any(c.label == "总体召回率" for c in at.metric)
    assert any("运行两次以上" in c.value for c in at.caption)  # one run: nothing to compare yet

    at.button(key="run_eval").click().run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "变化" in d.value.columns)
    assert set(table["变化"]) <= {"+0.000", "—"}  # same dataset, same rules: no change
    assert "批改精确率" in set(table["指标"])
    assert any("没有超出容差的退步" in s.value for s in at.success)


@pytest.fixture
def drafting_dataset(tmp_path, monkeypatch):
    folder = tmp_path / "datasets"
    folder.mkdir()
    cases = {"version": 1, "cases": [{"id": "mini", "facts": "examples/facts/mini.yaml", "expect": {
        "aspects": ["在固本培元、增强党性上带头"], "facts_used": ["F1"], "must_not_contain": ["有所"],
        "gaps_expected": []}}]}
    (folder / "d.yaml").write_text(yaml.safe_dump(cases, allow_unicode=True), encoding="utf-8")
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"default_response": {"items": [SLOT]}}, ensure_ascii=False), encoding="utf-8")
    monkeypatch.setenv("ZHAOJING_EVAL_DATASETS", str(folder))
    monkeypatch.setenv("ZHAOJING_FAKE_SCRIPT", str(script))
    return folder


def test_evaluate_drafting_dataset_side_by_side(drafting_dataset):
    at = page("evaluate").run()
    assert at.selectbox(key="dataset").value == "d.yaml（起草，1 例）"
    at.checkbox(key="eval_use_kb").uncheck()
    at.button(key="run_eval").click().run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "照镜流水线" in d.value.columns)
    assert "朴素基线" in table.columns
    row = table.set_index("指标").loc["应用事实覆盖率↑"]
    assert row["照镜流水线"] == "1"  # the scripted slot cites F1's wording
    assert any("对比基线" in m.label for m in at.metric)
    assert {b.label for b in at.download_button} == {"下载 CSV", "下载 HTML 报告"}


def test_evaluate_without_datasets_explains(tmp_path, monkeypatch):
    monkeypatch.setenv("ZHAOJING_EVAL_DATASETS", str(tmp_path))
    at = page("evaluate").run()
    assert not at.exception
    assert any("还没有可用的评测数据集" in i.value for i in at.info)


# ------------------------------------------------------------------------------ 知识库

@pytest.fixture
def fake_kb(tmp_path, monkeypatch):
    kb = KnowledgeBase(get_settings(), embedder=FakeEmbedder())
    (tmp_path / "policy").mkdir()
    (tmp_path / "policy" / "baxiang.md").write_text(
        "---\ntitle: 中央八项规定实施细则（摘要）\nkind: policy\nyear: 2012\n---\n\n# 中央八项规定实施细则（摘要）\n\n"
        "## 二、精简会议活动\n\n严格控制会议数量和规模，提倡开短会、讲短话，力戒空话套话。\n", encoding="utf-8")
    (tmp_path / "past.txt").write_text(
        "某局2023年度组织生活会对照检查材料\n一、存在的问题\n支部三会一课记录不全，主题党日全年只开展了7次。", encoding="utf-8")
    assert kb.ingest([tmp_path / "policy", tmp_path / "past.txt"]).ok
    monkeypatch.setattr(kb_store, "get_kb", lambda settings=None: kb)
    return kb


def test_knowledge_search_shows_hits_with_citations(fake_kb):
    at = page("knowledge").run()
    assert not at.exception
    at.text_input(key="kb_query").set_value("精简会议 开短会")
    next(b for b in at.button if b.label == "检索").click().run()
    assert not at.exception and not at.error
    shown = texts(at)
    assert "中央八项规定实施细则（摘要）" in shown and "相关度" in shown
    assert any(c.value.startswith("《") and "第" in c.value for c in at.caption)
    assert any("开短会" in t.value for t in at.text)


def test_knowledge_lists_and_deletes_documents(fake_kb):
    at = page("knowledge").run()
    docs = next(d.value for d in at.dataframe if "标题" in d.value.columns)
    assert len(docs) == 2 and "政策文件" in list(docs["类型"])
    at.button(key="kb_del_0").click().run()
    assert not at.exception
    assert len(fake_kb.list_documents()) == 1


def test_knowledge_upload_saves_and_ingests(fake_kb):
    at = page("knowledge").run()
    content = "某支部2024年度组织生活会对照检查材料\n一、存在的问题\n谈心谈话覆盖不全，全年只谈了12人次。"
    at.file_uploader(key="kb_upload").set_value([("支部材料.txt", content.encode("utf-8"), "text/plain")]).run()
    at.button(key="kb_ingest").click().run()
    assert not at.exception
    assert any("新增 1 个文件" in s.value for s in at.success)
    assert (get_settings().data_dir / "uploads" / "支部材料.txt").read_text(encoding="utf-8") == content
    assert len(fake_kb.list_documents()) == 3


def test_knowledge_empty_query_is_an_error(fake_kb):
    at = page("knowledge").run()
    next(b for b in at.button if b.label == "检索").click().run()
    assert not at.exception
    assert any("检索内容不能为空" in e.value for e in at.error)


# ------------------------------------------------------------------------------ 设置

def test_settings_never_shows_the_key():
    secret = "sk-very-secret-0123456789"
    at = page("settings").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["设置"]
    assert any("离线模式" in s.value for s in at.success)
    at.radio(key="set_llm").set_value("openai")
    at.text_input(key="set_base_url").set_value("https://api.deepseek.com/v1")
    at.text_input(key="set_model").set_value("deepseek-chat")
    at.text_input(key="set_api_key").set_value(secret)
    next(b for b in at.button if b.label.startswith("保存")).click().run()
    assert not at.exception
    overrides = at.session_state["llm_overrides"]
    assert isinstance(overrides["openai_api_key"], SecretStr)
    assert overrides["openai_api_key"].get_secret_value() == secret
    assert at.text_input(key="set_api_key").value == ""
    assert secret not in texts(at)
    assert secret not in repr(overrides)
    assert any("远程模型服务" in e.value for e in at.error)
    assert "已设置（不显示）" in at.text_input(key="set_api_key").placeholder
    assert any(str(get_settings().data_dir) in m.value for m in at.markdown)

    next(b for b in at.button if b.label == "清除本次会话的 API Key").click().run()
    assert at.session_state["llm_overrides"]["openai_api_key"] is None


def test_draft_form_builds_facts_from_table():
    at = page("draft").run()
    at.radio(key="facts_source").set_value("填写表单").run()
    next(t for t in at.text_input if t.label.startswith("单位")).input("岚溪县审计局领导班子")
    at.session_state["facts_editor"] = {
        "edited_rows": {0: {"text": "2025年9月审计整改台账中有3项问题逾期未销号", "source": "2025年审计整改台账"}},
        "added_rows": [{"id": "F2", "category": "巡察反馈", "text": "县委巡察反馈“三重一大”制度执行不严格"}],
        "deleted_rows": [],
    }
    next(b for b in at.button if b.label == "使用这些事实").click().run()
    assert not at.exception and not at.error
    assert any(c.value.startswith("岚溪县审计局领导班子 · 班子材料") and "事实 2 条" in c.value for c in at.caption)
    assert not at.button(key="generate").disabled


def test_endpoint_credentials_are_masked_in_notices():
    from ui import common

    assert common.safe_url("https://bob:pw123@llm.example.com/v1") == "https://***@llm.example.com/v1"
    assert common.safe_url("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000/v1"
    at = page("settings").run()
    at.radio(key="set_llm").set_value("openai")
    at.text_input(key="set_base_url").set_value("https://bob:pw123@llm.example.com/v1")
    next(b for b in at.button if b.label.startswith("保存")).click().run()
    assert not at.exception
    assert any("***@llm.example.com" in e.value for e in at.error)
    assert "pw123" not in "".join(e.value for e in at.error) + "".join(s.value for s in at.sidebar.markdown)


def test_draft_interrupted_mid_way_keeps_the_partial_draft():
    at = page("draft")
    at.session_state["chat_model"] = FakeChatModel(responses=[{"items": [SLOT]}], default_response="不是JSON")
    at.run()
    at.selectbox(key="example").set_value(ROOT / "examples" / "facts" / "mini.yaml").run()
    at.button(key="generate").click().run()
    assert not at.exception
    assert any("中断" in e.value for e in at.error)
    [saved] = DraftStore().list_drafts()
    version = DraftStore().get_version(saved.id)
    assert version.note.startswith("未完成稿")
    assert "【未生成" in version.markdown and "送戏下乡" in version.markdown
    assert "【未生成" in at.html[0].value  # shown, with the unwritten items marked


def test_embedded_model_is_warmed_once_in_the_background(monkeypatch):
    import threading

    from rag.config import Settings
    from rag.draft import pipeline
    from ui import common

    warmed, done = [], threading.Event()
    monkeypatch.setattr(common, "effective_settings", lambda: Settings(llm="embedded"))
    monkeypatch.setattr(common, "get_chat_model", lambda settings: "the-model")
    monkeypatch.setattr(pipeline, "warm_up", lambda model: (warmed.append(model), done.set()))
    from rag.app_support import ModelPool

    monkeypatch.setattr(common, "_POOL", ModelPool())  # a fresh pool: nothing cached from other tests
    common.warm_model_in_background()
    common.warm_model_in_background()  # a rerun of the app script: not again
    assert done.wait(10) and warmed == ["the-model"]
    monkeypatch.setattr(common, "effective_settings", lambda: Settings(llm="fake"))
    common.warm_model_in_background()  # other backends: nothing to warm
    assert warmed == ["the-model"]


def test_critique_checks_a_draft_against_an_uploaded_facts_file():
    at = page("critique").run()
    at.text_area(key="critique_text").input(
        "一、存在的问题\n一是学用结合还不够紧密。2025年局党组理论学习中心组集中学习10次，另有9次只念了文件。\n").run()
    facts = (ROOT / "evals" / "datasets" / "facts" / "v2" / "banzi-2025-qingyi-shuili.yaml").read_bytes()
    at.file_uploader(key="critique_facts").set_value(("事实.yaml", facts, "application/x-yaml")).run()
    assert any("将按事实文件核对" in c.value for c in at.caption)
    at.button(key="run_critique").click().run()
    assert not at.exception
    assert "9次" in at.html[0].value and any("9次" in m.value for m in at.markdown if "找不到" in m.value or "“9次" in m.value)
