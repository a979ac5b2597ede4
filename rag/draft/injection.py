"""Prompt-injection defences for drafting: user material is data, never instructions.

Two code-level defences (the prompts also say so, in ``prompts/system.j2`` rule 4):

* :func:`neutralize` – applied to every text field of a facts file (``rag.draft.facts``) and to every loaded
  document (``rag.kb.loaders``): removes zero-width and bidirectional control characters (they hide words from
  people but not from models) and defuses chat-template control tokens such as ``<|im_start|>``, which the
  embedded model's tokenizer would otherwise read as real turn boundaries.
* :func:`screen_slots` – applied to every slot answer (``rag.draft.pipeline.call_slots``): a field that repeats
  the system prompt, answers "as an assistant" (已完成 / 好的 / DONE…), obeys an instruction found in the
  prompt's material (outputs the phrase that instruction asked for) or is not Chinese prose at all loses the
  offending sentences; if nothing is left it becomes a visible 【待核实…】 marker. Nothing is silently invented.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from pydantic import BaseModel

if TYPE_CHECKING:  # langchain is imported lazily: rag.kb.loaders uses neutralize() and stays light
    from langchain_core.messages import BaseMessage

__all__ = ["BLOCKED", "instruction_targets", "is_meta_answer", "neutralize", "screen_slots", "screen_text"]

log = logging.getLogger(__name__)
M = TypeVar("M", bound=BaseModel)

BLOCKED = "【待核实：此处模型输出疑似执行了材料中的指令，已删除】"
ECHO_WINDOW = 14  # this many characters copied from the system prompt count as an echo

_INVISIBLE = re.compile("[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")
_CONTROL_TOKEN = re.compile(r"<\|\s*([A-Za-z_][A-Za-z0-9_]{0,30})\s*\|>")
_NORMALIZE = re.compile(r"[\s\W_]+", re.UNICODE)
_SENTENCES = re.compile(r"[^。！？!?；;\n]+[。！？!?；;]*|\n")
_CJK = re.compile(r"[\u4e00-\u9fff]")

# sentences in the material that address the model rather than describe the unit
_INJECTION_CUES = re.compile(
    r"忽略|无视|作废|不需要依据|不必依据|不用依据|系统消息|系统提示|提示词|扮演|假装|你现在是|开发者模式|直接输出|只输出|仅输出"
    r"|请输出|请回复|请回答|原样输出|停止输出|提前结束|编造|虚构一个|翻译成|复述"
    r"|你是一个|只会|〈im_|\bsystem\b"
    r"|ignore|disregard|override|system\s*prompt|developer mode|\[INST\]|<<SYS>>|<\|im_|reply|respond|answer with"
    r"|print|output",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"“([^”]{2,60})”|\"([^\"]{2,60})\"|‘([^’]{2,60})’|「([^」]{2,60})」|`([^`]{2,60})`")
_AFTER_VERB = re.compile(
    r"(?:输出|回复|写上|写入|with the word|answer with|reply with|only with)\s*[:：]?\s*"
    r"([^\s，。；、“”\"'‘’`]{2,40}?)\s*(?:即可|并|然后|[，。；`\[]|$)",
    re.IGNORECASE,
)
_AFTER_COLON = re.compile(r"[：:]\s*([^：:]{2,60}?)\s*[。！？!?]*$")
# answers about the conversation instead of the unit
_META = re.compile(
    r"^(?:已完成|完成了?|好的|好|收到|明白|我明白了|没问题|ok|okay|done|任务(?:已)?结束|已处理)(?:[，,：:！!。.\s]|$)"
    r"|忽略了?(?:以上|上述|之前|前面|所有|全部)|(?:系统|system)\s*(?:提示|prompt|消息)|收到的(?:全部)?指令"
    r"|我现在是|作为(?:一个|一名)?(?:AI|人工智能|语言模型|助手)|开发者模式|developer mode|<script|<\|"
    r"|(?:没有|不存在|无)任何问题|^(?:一切正常|无问题|没有问题|无)$",
    re.IGNORECASE,
)
_REPEATED = re.compile(r"^(.{1,8}?)\1{2,}$", re.DOTALL)


def neutralize(text: str) -> str:
    """``text`` without invisible/bidi control characters and with chat control tokens defused
    (``<|im_start|>`` → ``〈im_start〉``). Idempotent; ordinary text is returned unchanged."""
    if not text:
        return text
    text = _INVISIBLE.sub("", text)
    return _CONTROL_TOKEN.sub(lambda m: f"〈{m.group(1)}〉", text)


def _norm(text: str) -> str:
    return _NORMALIZE.sub("", text).lower()


def _sentences(text: str) -> list[str]:
    return [s for s in _SENTENCES.findall(text.replace(". ", ".\n")) if s.strip()]


def instruction_targets(material: str) -> list[str]:
    """Phrases an instruction hidden in ``material`` asks the model to output (“输出‘已完成’” → 已完成)."""
    targets: list[str] = []
    for sentence in _sentences(neutralize(material)):
        if not (_INJECTION_CUES.search(sentence) or '{"' in sentence or '"}' in sentence):
            continue
        targets += [next(g for g in m.groups() if g) for m in _QUOTED.finditer(sentence)]
        targets += [m.group(1) for m in _AFTER_VERB.finditer(sentence)]
        targets += [m.group(1) for m in _AFTER_COLON.finditer(sentence)]
    return [t for t in dict.fromkeys(t.strip() for t in targets) if len(_norm(t)) >= 2]


def is_meta_answer(text: str) -> bool:
    """True for an answer about the conversation (已完成, 好的, DONE, 作为AI…) or a degenerate repetition."""
    stripped = text.strip().strip("“”\"'‘’「」`*#>【】[]（）() ")
    return bool(_META.search(stripped) or _REPEATED.match(_norm(stripped)))


def _echoes(sentence: str, reference: str) -> bool:
    """True when ``sentence`` copies at least :data:`ECHO_WINDOW` consecutive characters of ``reference``."""
    s = _norm(sentence)
    return any(s[i : i + ECHO_WINDOW] in reference for i in range(len(s) - ECHO_WINDOW + 1))


def screen_text(text: str, *, system: str = "", targets: Sequence[str] = ()) -> str:
    """``text`` without sentences that echo ``system``, are meta answers, output an injected target or are not
    Chinese at all; :data:`BLOCKED` when nothing of substance is left, ``text`` itself when nothing was wrong."""
    if not text or not text.strip():
        return text
    reference = _norm(system)
    echo = bool(reference) and _echoes(text, reference)
    normed_targets = [_norm(t) for t in targets if _norm(t)]
    kept, dropped = [], False
    for sentence in _sentences(text):
        normed = _norm(sentence)
        bad = (
            not _CJK.search(sentence)
            or is_meta_answer(sentence)
            or (echo and (_echoes(sentence, reference) or (len(normed) >= 2 and normed in reference)))
            or any(t in normed for t in normed_targets)
        )
        dropped |= bool(bad)
        if not bad:
            kept.append(sentence)
    if not dropped:
        return text
    rest = "".join(kept).strip()
    if not _CJK.search(rest) or is_meta_answer(rest):
        return BLOCKED
    return rest


_MATERIAL_LINE = re.compile(r"^(?:\[[^\]\n]{1,40}\]\s|- (?![a-z_]+：))")


def _texts(messages: Iterable[BaseMessage]) -> tuple[str, str]:
    """(system prompt, material) — material is the listed facts/problems/requirements lines (``[F1] …``,
    ``- …``), not the prompt's own task text nor the user's revision request."""
    from langchain_core.messages import SystemMessage

    system, material = [], []
    for m in messages:
        content = m.content if isinstance(m.content, str) else str(m.content)
        if isinstance(m, SystemMessage):
            system.append(content)
        else:
            material += [line for line in content.splitlines() if _MATERIAL_LINE.match(line)]
    return "\n".join(system), "\n".join(material)


def _screen_value(value: Any, system: str, targets: list[str], hits: list[str]) -> Any:
    if isinstance(value, str):
        screened = screen_text(value, system=system, targets=targets)
        if screened != value:
            hits.append(value[:40])
        return screened
    if isinstance(value, BaseModel):
        return _screen_model(value, system, targets, hits)
    if isinstance(value, list):
        return [_screen_value(v, system, targets, hits) for v in value]
    return value


_ID_FIELDS = {"fact_ids", "problem_ids", "dimension", "id"}


def _screen_model(model: M, system: str, targets: list[str], hits: list[str]) -> M:
    update = {
        name: _screen_value(getattr(model, name), system, targets, hits)
        for name in type(model).model_fields
        if name not in _ID_FIELDS
    }
    return model.model_copy(update=update)


def screen_slots(slots: M, messages: Sequence[BaseMessage], material: str = "") -> M:
    """Screen every prose field of a slot answer against the prompt it answered (see :func:`screen_text`).

    ``material`` adds text whose hidden instructions count too although this prompt does not show it (the
    drafting run's facts and sources: the causes and measures prompts list only the problems)."""
    system, listed = _texts(messages)
    hits: list[str] = []
    targets = instruction_targets(f"{listed}\n{material}")
    screened = _screen_model(slots, system, targets, hits)
    if hits:
        log.warning("drafting: %d slot field(s) dropped as instruction-following output", len(hits))
    return screened
