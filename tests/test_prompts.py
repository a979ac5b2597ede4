"""Every prompt file renders with its variables; undefined variables fail loudly (StrictUndefined)."""

import pytest
from jinja2 import UndefinedError

from rag.draft import prompting

FACTS = [{"id": "F1", "text": "2025年缺课2次", "source": "考勤"}]
PROBLEMS = [{"id": "P1", "summary": "学习不扎实"}]
VARIABLES = {
    "system": {"meeting_type": "个人"},
    "perspective": {"meeting_type": "个人"},
    "problems_task": {"meeting_type": "个人", "dimensions": ["理想信念", "党性修养"], "with_summary": True},
    "problems": dict(unit="某局", meeting_type="班子", role="", year=2025, aspect="在固本培元、增强党性上带头",
                     facts=FACTS, requirements=["要求一"], feedback=None, instruction=None, max_items=2,
                     dimensions=["理想信念", "党性修养"], with_summary=True),
    "causes": dict(unit="某局", meeting_type="班子", year=2025, problems=PROBLEMS, dimensions=["党性修养"], max_items=2,
                   feedback="缺少思想根源", instruction=None),
    "measures": dict(unit="某局", meeting_type="个人", year=2025, problems=PROBLEMS, feedback=None, instruction="更具体"),
    "revise": dict(meeting_type="个人", part_label="存在的问题", text="学习不扎实", facts=FACTS, instruction="再具体一些"),
    "naive": dict(unit="某局", meeting_type="班子", year=2025, frame_name="五个带头", aspects=["甲", "乙"],
                  facts=FACTS, passages=["资料"]),
    "judge": dict(meeting_type="支部", year=2024, draft="一、存在的问题……", rubric=[{"id": "R1", "question": "是否具体？"}]),
}


def test_every_prompt_has_variables():
    assert set(prompting.prompt_names()) == set(VARIABLES)


@pytest.mark.parametrize("name", sorted(VARIABLES))
def test_prompt_renders(name):
    text = prompting.render(name, **VARIABLES[name])
    assert len(text) >= 15
    for value in VARIABLES[name].values():
        if isinstance(value, str) and value and name != "system":
            assert value in text or value in ("班子", "个人")


def test_missing_variable_fails():
    with pytest.raises(UndefinedError):
        prompting.render("problems", unit="某局")


def test_sandbox_blocks_unsafe_attribute_access():
    env = prompting.environment()
    with pytest.raises(Exception):  # noqa: B017 - SecurityError from the sandbox
        env.from_string("{{ x.__class__.__mro__[1].__subclasses__() }}").render(x="")


def test_fact_lines_stay_separate():
    text = prompting.render("problems", **{**VARIABLES["problems"], "facts": FACTS * 2})
    assert text.count("[F1] 2025年缺课2次（来源：考勤）\n") == 2


def test_largest_prompts_fit_the_small_models_context():
    """Worst case per step from the example facts: prompt characters (≥ Qwen tokens for Chinese) plus
    the step's output cap stay inside the embedded model's 4,096-token context."""
    from pathlib import Path

    from rag.draft.facts import load_facts
    from rag.draft.pipeline import DIMENSIONS, MAX_FACTS_PER_ASPECT, MAX_TOKENS
    from rag.llm.embedded import DEFAULT_N_CTX

    facts = [f for path in sorted(Path("examples/facts").glob("*.yaml")) for f in load_facts(path).facts]
    longest = sorted(facts, key=lambda f: len(f.text) + len(f.source or ""))[-MAX_FACTS_PER_ASPECT:]
    view = [{"id": f.id, "text": f.text, "source": f.source} for f in longest]
    problems = [{"id": f"P{i}", "summary": "对群众诉求回应不及时" * 3} for i in range(1, 16)]
    base = dict(unit="某县某某某某局领导班子", meeting_type="个人", year=2025, feedback="反馈" * 100, instruction="要求" * 50)
    steps = {
        "problems": dict(base, role="副局长", aspect="在坚决扛起管党治党责任上带头", facts=view,
                         requirements=["要" * 110] * 2, max_items=2, dimensions=DIMENSIONS,
                         with_summary=True),
        "causes": dict(base, problems=problems, dimensions=DIMENSIONS, max_items=4),
        "measures": dict(base, problems=problems),
    }
    system = prompting.render("system", meeting_type="个人")
    for step, variables in steps.items():
        size = len(system) + len(prompting.render(step, **variables)) + 20  # + the JSON line and chat markup
        assert size + MAX_TOKENS[step] <= DEFAULT_N_CTX, (step, size)
