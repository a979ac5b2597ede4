"""Drafting under model faults, through the real ChatOpenAI client against the local FakeOpenAIServer.

Transient faults are retried; unusable answers are asked again once; when a step fails for good,
DraftInterrupted carries the partial draft (unwritten items as 【未生成：…】) and `zhaojing draft`
saves it.
"""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import get_settings
from rag.draft.facts import load_facts
from rag.draft.pipeline import DraftInterrupted, draft_from_facts
from rag.draft.render import to_markdown
from rag.embed import FakeEmbedder
from rag.errors import LLMError
from rag.llm import get_chat_model
from rag.llm.testing_server import FakeOpenAIServer

ANSWERS = {
    "heading": ["送戏下乡排期贴近群众还不够", "对下属公司的监督存在缺位"],
    "reason": ["班子把完成演出场次看得比群众满意更重，安排演出时没有先问群众", "班子认为下属公司自己会管好，对三重一大事项管得松"],
    "action": ["调整送戏下乡排期，农忙时节不安排演出", "下属文旅公司三重一大事项一律经过集体研究再办", "印发文物安全巡查责任清单，逐项落实"],
    "lesson": ["对照这一案例，班子对下属文旅公司工程项目的监督同样存在漏洞，要以案为鉴"],
}
CALLS = 8  # mini.yaml: 2 定性, 2 reasons, 3 actions (one for last year's unfinished rectification), 1 case lesson
STEP_OF = {"问题定性": "heading", "原因剖析": "reason", "整改动作": "action", "案例剖析": "lesson"}


def step_of(messages: list[dict[str, Any]]) -> str:
    """Which small job a request is (from its system prompt)."""
    system = messages[0]["content"] if messages and messages[0].get("role") == "system" else ""
    return next((step for key, step in STEP_OF.items() if key in system), "other")


class Scripted:
    """Responder answering each small job; ``faults[part]`` are queued when that part starts."""

    def __init__(self, server: FakeOpenAIServer, faults: dict[str, list[str]] | None = None) -> None:
        self.server, self.faults, self.steps = server, dict(faults or {}), []

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        step = step_of(messages)
        answers = ANSWERS.get(step, ["好的"])
        asked = messages[-1]["content"]  # answer by content: a retried request gets the same answer
        k = 0 if "送戏" in asked else 2 if "文物" in asked else 1
        self.steps.append(step)
        return answers[min(k, len(answers) - 1)]

    def arm(self, part: str) -> None:
        """Queue ``part``'s faults for the requests that follow."""
        self.server.add_faults(*self.faults.pop(part, []))


@pytest.fixture
def server():
    with FakeOpenAIServer(model="fake-drafter") as srv:
        yield srv


@pytest.fixture
def remote(server, monkeypatch):
    monkeypatch.setenv("ZHAOJING_LLM", "openai")
    monkeypatch.setenv("OPENAI_BASE_URL", server.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.setenv("ZHAOJING_LLM_TIMEOUT", "0.5")
    monkeypatch.setenv("ZHAOJING_LLM_RETRY_BASE", "0.01")
    monkeypatch.setenv("ZHAOJING_MODEL_PROFILE", "small")  # a fixed number of calls (no retelling, no tie-breaks)
    get_settings.cache_clear()
    return server


@pytest.fixture
def facts():
    return load_facts("examples/facts/mini.yaml")


def _draft(facts, scripted: Scripted, events: list | None = None):
    """Draft with faults armed at the start of each step (the status events announce the steps)."""
    seen = events if events is not None else []

    def on_event(kind: str, payload: Any) -> None:
        seen.append((kind, payload))
        if kind == "status" and "撰写问题" in str(payload) and "敬畏人民" in str(payload):
            scripted.arm("problems")
        elif kind == "status" and payload == "正在剖析原因":
            scripted.arm("causes")
        elif kind == "status" and payload == "正在拟定整改措施":
            scripted.arm("measures")

    return draft_from_facts(facts, get_chat_model(), on_event=on_event, embedder=FakeEmbedder())


@pytest.mark.parametrize("faults", [["429"], ["500", "503"], ["reset"], ["timeout"], ["truncated"], ["garbage"],
                                    ["empty"]])
def test_recoverable_faults_leave_a_complete_draft(remote, facts, faults):
    scripted = Scripted(remote, {"causes": faults})
    remote.responder = scripted
    events: list = []
    draft = _draft(facts, scripted, events)
    assert list(dict.fromkeys(scripted.steps)) == ["heading", "reason", "action", "lesson"]
    assert len(remote.requests) == CALLS + len(faults)
    assert draft.stats["llm_calls"] == CALLS + len(faults) and draft.stats["llm_retries"] == len(faults)
    assert not [it for it in draft.gaps if "未生成" in it.text]
    assert ANSWERS["reason"][0] in draft.part("causes").items[0].text
    notes = [p for k, p in events if k == "status" and ("重试" in str(p) or "重新请求" in str(p))]
    assert len(notes) == len(faults)


@pytest.mark.parametrize(("faults", "message"), [
    (["500", "500", "500"], "模型服务出错（500）（已自动重试 2 次）"),
    (["429", "429", "429"], "模型服务繁忙（429）（已自动重试 2 次）"),
    (["truncated", "truncated"], "模型的回答在传输中途中断（已重新请求 1 次）"),
    (["empty", "empty"], "模型返回了空内容（已重新请求 1 次）"),
    (["401"], "模型服务拒绝访问（401）"),
])
def test_measures_step_failing_keeps_the_partial_draft(remote, facts, faults, message):
    scripted = Scripted(remote, {"measures": faults})
    remote.responder = scripted
    with pytest.raises(DraftInterrupted) as info:
        _draft(facts, scripted)
    exc = info.value
    assert isinstance(exc, LLMError) and exc.cause.message == message
    assert exc.step == "拟定整改措施" and "拟定整改措施" in exc.message and "已保留" in exc.hint
    text = to_markdown(exc.partial)
    assert "48场" in text and ANSWERS["reason"][0] in text  # problems and causes survive
    assert "【未生成：整改措施（模型调用中断" in text
    assert text.index("、存在的问题\n") < text.index("、原因分析\n") < text.index("、整改措施\n")
    assert exc.partial.stats["interrupted_at"] == "拟定整改措施"


def test_failure_in_second_aspect_keeps_the_first(remote, facts):
    remote.responder = Scripted(remote)

    def arm_second(kind: str, payload: Any) -> None:
        if kind == "status" and str(payload).endswith("在坚决扛起管党治党责任上带头"):
            remote.add_faults("503", "503", "503")

    with pytest.raises(DraftInterrupted) as info:
        draft_from_facts(facts, get_chat_model(), on_event=arm_second, embedder=FakeEmbedder())
    partial = info.value.partial
    problems = partial.part("problems").items
    assert [it.gap for it in problems] == [True, True, False, True, True]
    assert "48场" in problems[2].text and problems[2].heading == ANSWERS["heading"][0]
    assert problems[1].text.startswith("【请补充：")  # no fact fits it: a real gap
    assert problems[4].text.startswith("【未生成：在坚决扛起管党治党责任上带头方面的问题")
    assert partial.part("causes").items[0].text.startswith("【未生成：原因分析")


def test_cli_saves_the_partial_draft(remote, tmp_path):
    scripted = Scripted(remote)

    def responder(messages: list[dict[str, Any]]) -> str:
        answer = scripted(messages)
        if scripted.steps.count("heading") == 2:  # the last 定性: the causes will fail for good
            remote.add_faults("500", "500", "500")
        return answer

    remote.responder = responder
    out = tmp_path / "草稿.md"
    result = CliRunner().invoke(app, ["draft", "examples/facts/mini.yaml", "--model", "openai", "--no-kb",
                                      "-o", str(out)])
    assert result.exit_code == 2, result.output
    saved = tmp_path / "草稿.未完成.md"
    assert saved.exists() and not out.exists()
    text = saved.read_text(encoding="utf-8")
    assert "48场" in text and "【未生成：原因分析" in text
    assert "已保存到" in result.output and "模型服务出错（500）" in result.output
