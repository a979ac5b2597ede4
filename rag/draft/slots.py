"""One small job per model call: a step's instructions, worked examples as chat turns, the input.

Each answer is one short line of text (a 定性, a reason, an action). It is checked with the genre
predicates by the caller's ``check``; a rejected answer is asked once more with other examples and a
little temperature, and the caller falls back to the bank when that fails too. Answers are screened
for instructions hidden in the material (prompt injection) before they are used.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage

from rag.draft import prompting
from rag.draft.injection import screen_text
from rag.errors import LLMError
from rag.genre import matches, unpaired_quotes
from rag.llm import complete
from rag.llm.calls import SWITCH_HINT

Check = Callable[[str], str | None]
"""Returns why an answer is rejected, or None when it is acceptable."""


@dataclass
class Attempt:
    """One answer the model gave and what the check said of it (kept for the draft's statistics)."""

    step: str
    answer: str
    rejected: str | None


@dataclass
class SlotLog:
    """Every attempt of a draft, for statistics and the eval report."""

    attempts: list[Attempt] = field(default_factory=list)

    def count(self, step: str, accepted: bool | None = None) -> int:
        return sum(a.step == step and (accepted is None or (a.rejected is None) == accepted) for a in self.attempts)


USELESS_AFTER = 6
"""Rejected answers in a row, from the start of a draft, after which the model is taken to be unusable."""


def _give_up_if_useless(log: SlotLog) -> None:
    """A model whose first answers are all unusable (a wrong model, a broken endpoint answering
    boilerplate) stops the draft with a clear error instead of a draft made only of fallbacks."""
    if len(log.attempts) >= USELESS_AFTER and all(a.rejected for a in log.attempts):
        reasons = "；".join(dict.fromkeys(a.rejected or "" for a in log.attempts))
        raise LLMError(f"模型的回答连续 {len(log.attempts)} 次不合格（{reasons}）",
                       f"请确认选用的是对话模型、接口返回正常；{SWITCH_HINT}")


def messages(step: str, meeting_type: str, shots: Sequence[tuple[dict, str]], inputs: dict,
             instruction: str | None = None) -> list[BaseMessage]:
    """System instructions of ``prompts/<step>.j2`` (plus the user's rewrite wish), each shot as a
    user/assistant pair rendered with ``prompts/<step>_input.j2``, then the real input."""
    system = prompting.render(step, meeting_type=meeting_type)
    if instruction:
        system += f"\n用户的修改要求：{instruction}"
    out: list[BaseMessage] = [SystemMessage(content=system)]
    for variables, answer in shots:
        out += [HumanMessage(content=prompting.render(f"{step}_input", **variables)), AIMessage(content=answer)]
    out.append(HumanMessage(content=prompting.render(f"{step}_input", **inputs)))
    return out


REPEATED = re.compile(r"(.{2,8})\1{2,}")
BARE_NUMBER = re.compile(r"\d+(?![\d.%％]|\s*[\u4e00-\u9fff])")


def garbled(text: str) -> str | None:
    """Why an answer is not usable prose at all (Latin letters, a chunk repeated, a cut or doubled word,
    a bare number), or None."""
    if re.search(r"[A-Za-z]", text):
        return "夹杂了外文"
    if REPEATED.search(text):
        return "内容重复"
    if matches("cut_fragment", text) or matches("doubled", text) or unpaired_quotes(text):
        return "有残句、重复的词或不成对的引号"
    if BARE_NUMBER.search(text):
        return "有来历不明的数字"
    return None


GENERIC_ROLE = re.compile(r"(?:一名)?(?:共产党员|党员|党员干部|领导干部|分管领导|班子成员|主要负责人|一把手|基层党组织)")
ROLE = re.compile(r"(?:我|本人|班子|支部)作为([\u4e00-\u9fff、]{2,16}?)(?=[，。；,]|$)")


def invented(run, step: str, answer: str) -> str | None:
    """Why an answer states something the facts do not hold (a number, date, name, body or quoted title,
    or a post the writer does not hold), checked as the guard will check the finished draft; actions only
    for statements of fact."""
    from rag.critic import grounding

    found = grounding.unsupported(answer, run.known_claims(), statements_only=step == "action")
    if found:
        return f"写了事实里没有的“{found[0].text}”"
    role = ROLE.search(answer)
    own = f"{run.facts.unit} {run.facts.writer.role if run.facts.writer else ''}"  # the writer's own post only
    if role and role.group(1) not in own and not GENERIC_ROLE.fullmatch(role.group(1)):
        return f"给撰写人安了事实里没有的身份“{role.group(1)}”"
    return None


def clean_line(text: str) -> str:
    """The first line of an answer without numbering, labels, quotes and closing punctuation."""
    line = next((ln for ln in text.strip().splitlines() if ln.strip()), "")
    line = re.sub(r"^\s*(?:[一二三四五六七八九十]是|\d+[.、．]|[（(]\d+[)）]|[-*•]\s*)", "", line)
    line = re.sub(r"^(?:定性|问题|原因|措施|整改动作|动作|答|回答|改写)[:：]\s*", "", line.strip())
    line = line.strip().strip("“”\"'「」")
    return line.rstrip("。；;，,、 ")


def ask(run, step: str, shots: Sequence[tuple[dict, str]], inputs: dict, *, check: Check, max_tokens: int,
        retry_shots: Sequence[tuple[dict, str]] | None = None, retry_inputs: dict | None = None,
        retries: int = 1, fix: Callable[[str], str] | None = None) -> str | None:
    """Ask one small job; the accepted answer, or None after a second rejected attempt.

    ``run`` supplies the model, the material type, the event sink and the counters (see
    :class:`rag.draft.pipeline.Run`), including the phrases that instructions hidden in the material
    ask for (an answer that outputs one is rejected).
    """
    tries = [(shots, inputs, 0.0),
             (retry_shots if retry_shots is not None else shots, retry_inputs or inputs, 0.4)][:1 + retries]
    for attempt, (examples, given, temperature) in enumerate(tries):
        msgs = messages(step, run.facts.meeting_type, examples, given, run.instruction)
        raw = complete(run.model, msgs, max_tokens=max_tokens, stop=["\n"], temperature=temperature,
                       stats=run.stats, on_token=run.token_sink(), on_retry=lambda note: run.emit("status", note))
        answer = clean_line(raw)
        if fix is not None:
            answer = fix(answer)
        screened = screen_text(answer, system=str(msgs[0].content), targets=run.injection_targets())
        why = "疑似执行了材料中的指令" if screened != answer else garbled(answer) or invented(run, step, answer) \
            or check(answer)
        run.slots.attempts.append(Attempt(step=step, answer=answer, rejected=why))
        if why is None:
            return answer
        _give_up_if_useless(run.slots)
        if attempt == 0:
            run.emit("status", f"模型的回答不合格（{why}），换一组示例重写")
    return None
