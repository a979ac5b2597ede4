"""Integration: draft the small facts file with the real embedded model (slow: one full draft on CPU).

Checks structure (parts present, in the frame's order), grounding (no number or quoted name in 问题/原因
that the facts do not contain, recomputed on the final text), and that the critic raises no error-level
finding except on our own markers.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import rag.config
from rag.config import Settings
from rag.draft.facts import load_facts
from rag.draft.pipeline import draft_from_facts, is_reason
from rag.draft.quality import critic_errors, unsupported_tokens
from rag.draft.render import to_markdown
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
    draft = draft_from_facts(facts, model, on_event=lambda kind, p: tokens.append(p) if kind == "token" else None)
    text = to_markdown(draft)
    # structure: every part, in the 2025 frame's order, problems grouped under the five aspects
    assert [p.kind for p in draft.parts] == ["opening", "rectification", "problems", "case", "causes", "measures"]
    heads = ["、上年度民主生活会整改落实情况", "、存在的问题", "、反面典型案例剖析", "、原因分析", "、整改措施"]
    positions = [text.index(h) for h in heads]
    assert positions == sorted(positions)
    assert len({it.aspect for it in draft.part("problems").items}) == 5
    real = [it for it in draft.part("problems").items if not it.gap]
    assert len(real) >= 2 and all(it.fact_ids for it in real)  # both facts-backed aspects were written
    causes = draft.part("causes").items
    # each cause explains named problems and gives a thought/Party-spirit reason, or leaves the reason as a gap
    assert causes and all(it.problem_ids for it in causes)
    assert all(it.gap or is_reason(it.text) for it in causes), [it.text for it in causes]
    assert all(it.problem_ids for it in draft.part("measures").items)
    # grounding, recomputed on the final text
    assert unsupported_tokens(draft, facts) == []
    # the critic: errors only on our own markers
    ours, other = critic_errors(draft, facts)
    assert other == [], text
    assert draft.stats["llm_calls"] >= 2 and tokens  # one call per aspect with facts (causes, measures with them); streamed
