"""Drafting under model faults, through the real ChatOpenAI client against the local FakeOpenAIServer.

Transient faults are retried; unusable answers are asked again once; when a step fails for good,
DraftInterrupted carries the partial draft (unwritten items as 【未生成：…】) and `zhaojing draft`
saves it.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from rag.cli import app
from rag.config import get_settings
from rag.draft.facts import load_facts
from rag.draft.pipeline import DraftInterrupted, draft_from_facts
from rag.draft.render import to_markdown
from rag.errors import LLMError
from rag.llm import get_chat_model
from rag.llm.testing_server import FakeOpenAIServer

PROBLEM = {"items": [{"fact_ids": ["F1"], "summary": "对群众文化需求回应不精准",
                      "instance": "2025年送戏下乡演出48场，其中19场安排在农忙时节，观众不足30人",
                      "reflection": "反映出班子对群众需求了解不深"}]}
CAUSES = {"items": [{"problem_ids": ["P3"], "dimension": "宗旨意识", "text": "排期没有先问群众，把完成场次当成了目标"}]}
MEASURES = {"items": [{"problem_ids": ["P3"], "action": "调整送戏下乡排期，事先征求乡镇意见", "result": "每季度征求意见1次",
                       "owner": "公共服务股"}]}


def step_of(messages: list[dict[str, Any]]) -> str:
    """Which drafting step a request belongs to (from the rendered prompt)."""
    prompt = messages[-1]["content"]
    if "需要整改的问题" in prompt:
        return "measures"
    return "causes" if "查摆的问题" in prompt else "problems"


class Scripted:
    """Responder answering each step with valid slots; ``faults[step]`` are queued when that step starts."""

    def __init__(self, server: FakeOpenAIServer, faults: dict[str, list[str]] | None = None) -> None:
        self.server, self.faults, self.steps = server, dict(faults or {}), []

    def __call__(self, messages: list[dict[str, Any]]) -> str:
        step = step_of(messages)
        self.steps.append(step)
        answer = {"problems": PROBLEM, "causes": CAUSES, "measures": MEASURES}[step]
        return json.dumps(answer, ensure_ascii=False)

    def arm(self, step: str) -> None:
        """Queue ``step``'s faults for the requests that follow."""
        self.server.add_faults(*self.faults.pop(step, []))


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
    get_settings.cache_clear()
    return server


@pytest.fixture
def facts():
    return load_facts("examples/facts/mini.yaml")  # 2 aspects with facts → 4 model calls


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

    return draft_from_facts(facts, get_chat_model(), on_event=on_event, max_rounds=0)


@pytest.mark.parametrize("faults", [["429"], ["500", "503"], ["reset"], ["timeout"], ["truncated"], ["garbage"],
                                    ["empty"]])
def test_recoverable_faults_leave_a_complete_draft(remote, facts, faults):
    scripted = Scripted(remote, {"causes": faults})
    remote.responder = scripted
    events: list = []
    draft = _draft(facts, scripted, events)
    assert list(dict.fromkeys(scripted.steps)) == ["problems", "causes", "measures"]
    assert len(remote.requests) == 4 + len(faults)
    assert draft.stats["llm_calls"] == 4 + len(faults) and draft.stats["llm_retries"] == len(faults)
    assert not [it for it in draft.gaps if "未生成" in it.text]
    assert draft.part("causes").items[0].text.startswith("从宗旨意识上看")
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
    assert "48场" in text and "从宗旨意识上看" in text  # problems and causes survive
    assert "【未生成：整改措施（模型调用中断" in text
    assert text.index("、存在的问题\n") < text.index("、原因分析\n") < text.index("、整改措施\n")
    assert exc.partial.stats["interrupted_at"] == "拟定整改措施"


def test_failure_in_second_aspect_keeps_the_first(remote, facts):
    remote.responder = Scripted(remote)

    def arm_second(kind: str, payload: Any) -> None:
        if kind == "status" and str(payload).endswith("在坚决扛起管党治党责任上带头"):
            remote.add_faults("503", "503", "503")

    with pytest.raises(DraftInterrupted) as info:
        draft_from_facts(facts, get_chat_model(), on_event=arm_second)
    partial = info.value.partial
    problems = partial.part("problems").items
    assert [it.gap for it in problems] == [True, True, False, True, True]
    assert "48场" in problems[2].text
    assert problems[4].text.startswith("【未生成：在坚决扛起管党治党责任上带头方面的问题")
    assert partial.part("causes").items[0].text.startswith("【未生成：原因分析")
    assert [it.id for it in problems] == ["P1", "P2", "P3", "P4", "P5"]


def test_cli_saves_the_partial_draft(remote, tmp_path):
    scripted = Scripted(remote)

    def responder(messages: list[dict[str, Any]]) -> str:
        answer = scripted(messages)
        if scripted.steps.count("problems") == 2:  # the last problem answer: causes will fail for good
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
