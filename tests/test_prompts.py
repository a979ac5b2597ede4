"""Every prompt file renders with its variables; undefined variables fail loudly (StrictUndefined)."""

import pytest
from jinja2 import UndefinedError

from rag.draft import prompting

FACTS = [{"id": "F1", "text": "2025年缺课2次", "source": "考勤"}]
VARIABLES = {
    "system": {"meeting_type": "个人"},
    "perspective": {"meeting_type": "支部"},
    "heading": {"meeting_type": "个人"},
    "heading_input": {"fact": "2025年缺课2次"},
    "reason": {"meeting_type": "班子"},
    "reason_input": {"root": "党性修养", "problems": ["参加组织生活不够经常", "讲党课不足"], "hint": "从“班子认为”写起"},
    "action": {"meeting_type": "支部"},
    "action_input": {"heading": "参加组织生活不够经常", "fact": "2025年缺课2次", "hint": "动词开头"},
    "lesson": {"meeting_type": "个人"},
    "lesson_input": {"case": "某局干部违规收受礼金", "problems": ["廉洁自律的防线守得不够牢"]},
    "retell": {"meeting_type": "班子"},
    "retell_input": {"fact": "群众反映，窗口办事要跑三趟"},
    "aspect_choice": {"fact": "2025年缺课2次", "a": "理论学习方面", "b": "党员意识方面"},
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
    assert len(text) >= (5 if name.endswith("_input") else 15)
    for value in VARIABLES[name].values():
        if isinstance(value, str) and value and name != "system":
            assert value in text or value in ("班子", "个人", "支部")



def test_missing_variable_fails():
    with pytest.raises(UndefinedError):
        prompting.render("action_input", heading="某局")


def test_sandbox_blocks_unsafe_attribute_access():
    env = prompting.environment()
    with pytest.raises(Exception):  # noqa: B017 - SecurityError from the sandbox
        env.from_string("{{ x.__class__.__mro__[1].__subclasses__() }}").render(x="")


def test_largest_prompts_fit_the_small_models_context():
    """Worst case per step: the longest fact of the example and dev facts files, every step's examples
    (the longest of the bank) and the output cap stay inside the embedded model's 4,096-token context
    (characters ≥ Qwen tokens for Chinese)."""
    from pathlib import Path

    from rag.draft.bank import action_examples, heading_examples, roots
    from rag.draft.facts import load_facts
    from rag.draft.profile import LARGE
    from rag.draft.slots import messages
    from rag.llm.embedded import DEFAULT_N_CTX

    files = [*Path("examples/facts").glob("*.yaml"), *Path("evals/datasets/facts").rglob("*.yaml")]
    longest = max((f.text for path in files for f in load_facts(path).facts), key=len)
    heads, _ = heading_examples()
    k = LARGE.shots
    shots = {
        "heading": [({"fact": e.fact}, e.heading) for e in sorted(heads, key=lambda e: -len(e.fact))[:k]],
        "action": [({"heading": e.heading, "fact": e.fact, "hint": ""}, e.action)
                   for e in sorted(action_examples(), key=lambda e: -len(e.fact))[:k]],
        "reason": [({"root": r.id, "problems": list(e.problems), "hint": ""}, e.reason)
                   for r in roots() for e in r.examples("班子")][:k],
    }
    inputs = {"heading": {"fact": longest}, "action": {"heading": "甲" * 20, "fact": longest, "hint": "要" * 40},
              "reason": {"root": "党性修养", "problems": ["甲" * 20] * 2, "hint": "要" * 60}}
    for step, variables in inputs.items():
        size = sum(len(m.content) + 10 for m in messages(step, "个人", shots[step], variables, "要求" * 50))
        assert size + 200 <= DEFAULT_N_CTX, (step, size)
