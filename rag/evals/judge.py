"""Optional model-judged rubrics: Chinese yes/no questions with a one-sentence reason each.

Only used when a judge model is configured (``zhaojing eval run --judge``); a run never depends on it, and a
judge failure is recorded on the case instead of stopping the run.
"""

from __future__ import annotations

from langchain_core.language_models import BaseChatModel
from pydantic import BaseModel, Field

from rag.draft import prompting
from rag.errors import ZhaojingError
from rag.llm import structured_call

RUBRIC = [
    {"id": "R1", "question": "“问题”部分的每一条是否都有具体事例（时间、事件、数字或来源），而不是泛泛而谈？"},
    {"id": "R2", "question": "“原因”部分是否从理想信念、党性修养等思想根源上剖析，并且与前面的问题对应，而不是罗列客观理由？"},
    {"id": "R3", "question": "“整改措施”是否都有完成时限、责任人和可检查的结果？"},
    {"id": "R4", "question": "全文是否没有堆砌套话、没有用“有时”“一定程度上”等弱化词淡化问题？"},
]


class Verdict(BaseModel):
    """One rubric answer."""

    id: str
    passed: bool = Field(description="通过为 true，不通过为 false")
    reason: str = Field(description="一句话理由")


class JudgeVerdicts(BaseModel):
    """The judge's answers to every rubric question."""

    verdicts: list[Verdict]


def judge_draft(text: str, year: int, meeting_type: str, model: BaseChatModel) -> dict:
    """Ask the judge; returns ``{"pass_rate", "verdicts"}`` or ``{"error"}`` when the judge fails."""
    prompt = prompting.render("judge", meeting_type=meeting_type, year=year, draft=text[:6000], rubric=RUBRIC)
    try:
        out = structured_call(model, prompt, JudgeVerdicts)
    except ZhaojingError as exc:
        return {"error": exc.message}
    wanted = {r["id"] for r in RUBRIC}
    verdicts = [v.model_dump() for v in out.verdicts if v.id in wanted]
    if not verdicts:
        return {"error": "评审模型没有回答任何评审问题"}
    return {"pass_rate": round(sum(v["passed"] for v in verdicts) / len(verdicts), 3), "verdicts": verdicts}
