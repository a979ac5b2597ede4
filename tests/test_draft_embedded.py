"""Integration: draft the small facts file with the real embedded model and the real embedder (slow).

Checks what the model wrote, not what code copies in: each 定性 the model wrote passes the genre checks
and is not a copy of the fact; each cause the model reasoned gives a thought/Party-spirit reason in its own
words; each measure's action is the model's and works on its problem's object. Also structure, grounding
(recomputed on the final text by the eval's own implementation) and no error-level critic finding beside
our own markers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rag.config
from rag.config import Settings
from rag.draft.causes import reason_problem
from rag.draft.facts import load_facts
from rag.draft.measures import object_shared
from rag.draft.pipeline import draft_from_facts
from rag.draft.problems import heading_problem
from rag.draft.quality import critic_errors, unsupported_tokens
from rag.draft.render import to_markdown
from rag.draft.revise import problems_of
from rag.embed import get_embedder
from rag.genre import matches
from rag.llm import ensure_gguf, get_chat_model

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def model():
    models = os.environ.get("ZHAOJING_MODELS_DIR") or str(Path(rag.config.PROJECT_ROOT) / "data" / "models")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ZHAOJING_MODELS_DIR", models)
        path = ensure_gguf(Settings(llm="embedded"))
    return get_chat_model(Settings(llm="embedded", gguf=path), temperature=0.0, seed=7)


def test_mini_draft_on_the_embedded_model(model):
    facts = load_facts("examples/facts/mini.yaml")
    tokens: list[str] = []
    draft = draft_from_facts(facts, model, embedder=get_embedder(),
                             on_event=lambda kind, p: tokens.append(p) if kind == "token" else None)
    text = to_markdown(draft)
    # structure: every part, in the 2025 frame's order, problems grouped under the five aspects
    assert [p.kind for p in draft.parts] == ["opening", "rectification", "problems", "case", "causes", "measures"]
    heads = ["、上年度民主生活会整改落实情况", "、存在的问题", "、反面典型案例剖析", "、原因分析", "、整改措施"]
    positions = [text.index(h) for h in heads]
    assert positions == sorted(positions)
    assert len({it.aspect for it in draft.part("problems").items}) == 5
    problems = problems_of(draft)
    assert len(problems) == 2 and all(p.fact_ids for p in problems)

    # what the model wrote: the 定性 of each problem (unless both tries failed and the bank's was used)
    answers = draft.stats["answers"]
    assert answers["heading"]["accepted"] >= 1, answers
    by_fact = {f.id: f.text for f in facts.facts}
    model_written = [it for it in draft.part("problems").items if not it.gap and not it.to_confirm]
    assert model_written  # at least one 定性 is the model's (the bank's are marked for the user to confirm)
    for it in model_written:
        fact = by_fact[it.fact_ids[0]]
        assert heading_problem(it.heading, fact, "班子", []) is None, it.heading
        assert it.heading not in fact  # the model named the shortcoming, it did not copy the fact
    # the causes: a reason of the model's in the writer's voice, or candidates for the user — never a bare gap
    causes = draft.part("causes").items
    assert causes and all(c.problem_ids for c in causes)
    written = [c for c in causes if not c.gap]
    assert written, [c.text for c in causes]
    for c in causes:
        if c.gap:
            assert len(c.candidates) >= 2
            continue
        reason = c.text.split("。")[1]
        own = [p for p in problems if p.id in c.problem_ids]
        assert matches("reason", reason) and reason_problem(reason, own, [], "班子") is None, c.text
    # the measures: the model's action works on the problem's own object
    measures = draft.part("measures").items
    for m in measures:
        if not m.problem_ids:
            continue
        p = next(x for x in problems if x.id in m.problem_ids)
        action = m.text.split("，")[0]
        assert object_shared(action, p.instance, p.heading), m.text
    assert answers["action"]["accepted"] >= 1
    # grounding, recomputed on the final text by the eval's own implementation
    assert unsupported_tokens(draft, facts) == []
    # the critic: errors only on our own markers
    ours, other = critic_errors(draft, facts)
    assert other == [], text
    assert draft.stats["llm_calls"] >= 5 and tokens
