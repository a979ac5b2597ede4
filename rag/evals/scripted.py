"""A scripted stand-in for a drafting model: answers each small drafting job with a plausible line built from
its input, a rewrite request with valid JSON, and the naive baseline's prompt with a plain (deliberately
generic) draft.

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


FIELDS = {"ItemRewrite": ("text",)}
INPUT = re.compile(r"^(事实|问题|根源|案例|相关问题)：(.*)$", re.MULTILINE)


def _text(message: Any) -> str:
    """A message's text, for LangChain messages and OpenAI-style dicts alike."""
    content = message.content if isinstance(message, BaseMessage) else message.get("content", "")
    return str(content)


def _voice(messages: list[Any]) -> str:
    system = _text(messages[0]) if messages else ""
    return "我" if "用“我”来写" in system else "支委会" if "支委会" in system else "班子"


def _core(text: str, n: int) -> str:
    """The first ``n`` Chinese characters of a text, after a leading date."""
    han = re.sub(r"[^\u4e00-\u9fff]", "", re.sub(r"^\s*\d{4}年(?:\d{1,2}月)?", "", text))
    return han[:n] or "有关工作"


def _small_job(system: str, fields: dict[str, str], who: str) -> str:
    """A plausible one-line answer to one small drafting job (定性, reason, action, lesson, retelling)."""
    fact, problem = fields.get("事实", ""), fields.get("问题", "")
    if "问题定性" in system:
        return f"{_core(fact, 4)}方面的工作还不够扎实"
    if "原因剖析" in system:
        return f"{who}对{_core(problem, 6)}背后的责任认识不足，满足于完成规定动作"
    if "整改动作" in system:
        return f"针对{_core(fact, 8)}的情况逐项制定整改清单"
    if "案例剖析" in system:
        return f"对照这一案例，{who}在{_core(fields.get('相关问题', ''), 6)}上同样存在风险，要以案为鉴、举一反三"
    if "改写成" in system:
        return fact
    return "A"


def draft_responder(messages: list[Any]) -> str:
    """The answer a cooperative model would give to one of our prompts: a small drafting job's line, a
    rewritten item (JSON), or a naive draft."""
    prompt = _content(messages)
    system = _text(messages[0]) if len(messages) > 1 else ""
    if "JSON" in prompt:  # a one-item rewrite
        tagged = TAGGED.findall(prompt) or [("F1", "全年集中学习6次")]
        return json.dumps({"text": re.split(r"（来源|[；。]", tagged[0][1])[0][:40]}, ensure_ascii=False)
    if system and "对照检查材料" in system:
        return _small_job(system, dict(INPUT.findall(prompt)), _voice(messages))
    if "更适合放在哪个方面" in prompt:
        return "A"
    return _naive(prompt)


class ScriptedChatModel(FakeChatModel):
    """A FakeChatModel whose every answer comes from :func:`draft_responder` (history is still recorded)."""

    def _next_text(self, messages: list[BaseMessage], stop: list[str] | None, kwargs: dict[str, Any]) -> str:
        with self._lock:
            self.history.append(list(messages))
            self.calls.append({"stop": stop, **kwargs})
        return draft_responder(messages)
