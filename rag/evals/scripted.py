"""A scripted stand-in for a drafting model: answers slot requests with valid JSON built from the prompt's
facts, and the naive baseline's prompt with a plain (deliberately generic) draft.

Used by the eval tests, the eval benchmark (behind the fake OpenAI-compatible server) and ``--model fake``.
It is not a model of quality: it lets the runner, metrics and reports be exercised end to end offline.
"""

from __future__ import annotations

import json
import re
from typing import Any

from langchain_core.messages import BaseMessage

from rag.llm.fake import FakeChatModel

TAGGED = re.compile(r"^\s*\[((?:F|P)\d+)\]\s*(.+?)\s*$", re.MULTILINE)
NAIVE_FACT = re.compile(r"^\s*-\s*(.+?)\s*$", re.MULTILINE)


def _content(messages: list[Any]) -> str:
    last = messages[-1]
    content = last.content if isinstance(last, BaseMessage) else last.get("content", "")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return str(content)


def _naive(prompt: str) -> str:
    facts = NAIVE_FACT.findall(prompt.split("事实：", 1)[-1]) or ["全年集中学习6次"]
    probs = "\n".join(f"{'一二三四五六'[i]}是{t.rstrip('。')}，工作作风不够扎实。" for i, t in enumerate(facts[:4]))
    return (f"一、存在的问题\n{probs}\n二、原因分析\n理想信念有所松懈，宗旨意识有所淡化，党性修养有所放松。\n"
            "三、整改措施\n进一步加强理论学习，切实提高工作能力。")


FIELDS = {
    "ProblemSlots": ("fact_ids", "summary", "root", "cause", "action", "result"),
    "CauseSlots": ("problem_ids", "dimension", "text"),
    "MeasureSlots": ("problem_ids", "action", "result", "owner"),
}


def _slot(tag: str, text: str, problem_ids: list[str]) -> dict[str, Any]:
    core = re.split(r"（来源|[；。]", text)[0][:40]
    return {
        "fact_ids": [tag] if tag.startswith("F") else [], "problem_ids": problem_ids,
        "summary": "落实要求的标准不够高", "instance": core, "reflection": "",
        "dimension": "党性修养", "text": f"对“{core[:10]}”背后的责任认识不足，满足于完成规定动作",
        "root": "党性修养", "cause": f"对“{core[:10]}”背后的责任认识不足，满足于完成规定动作",
        "action": f"针对“{core[:14]}”逐项制定整改清单", "result": "形成整改台账并逐项销号", "owner": "办公室",
    }


def draft_responder(messages: list[Any]) -> str:
    """The answer a cooperative model would give to one of our prompts (slot JSON or a naive draft).

    Answers stay short (only the requested schema's fields), as a real model's would under ``max_tokens``.
    """
    prompt = _content(messages)
    if "JSON" not in prompt:  # the naive baseline: one free-text draft
        return _naive(prompt)
    body, _, instruction = prompt.partition("请只输出一个 JSON")
    tagged = TAGGED.findall(body) or [("F1", "全年集中学习6次")]
    problems = [t for t, _ in tagged if t.startswith("P")]
    items = [_slot(t, text, [t] if t.startswith("P") else problems[:1]) for t, text in tagged[:2]]
    schema = next((name for name in FIELDS if f'"title":"{name}"' in instruction), None)
    if schema is None:  # a one-item rewrite
        return json.dumps({"text": items[0]["instance"]}, ensure_ascii=False)
    return json.dumps({"items": [{k: it[k] for k in FIELDS[schema]} for it in items]}, ensure_ascii=False)


class ScriptedChatModel(FakeChatModel):
    """A FakeChatModel whose every answer comes from :func:`draft_responder` (history is still recorded)."""

    def _next_text(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str:
        with self._lock:
            self.history.append(list(messages))
            self.calls.append({"stop": stop, **kwargs})
        return draft_responder(messages)
