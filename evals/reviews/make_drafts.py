"""Draft the review set with the embedded model and the knowledge base, one Markdown file per facts file.

    .venv/bin/python evals/reviews/make_drafts.py OUT_DIR FACTS.yaml [FACTS.yaml ...]

Each file starts with a comment naming its facts file (the reviewer reads both). Used for the strict
reviewer's before/after comparison in evals/reviews/.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def main() -> None:
    from rag.draft.facts import load_facts
    from rag.draft.pipeline import draft_from_facts
    from rag.draft.render import to_markdown
    from rag.evals.cli import model_for_eval
    from rag.kb.store import get_kb

    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    model, label = model_for_eval("embedded")
    kb = get_kb()
    stats = {}
    for path in sys.argv[2:]:
        rel = Path(path).resolve().relative_to(ROOT)
        started = time.perf_counter()
        draft = draft_from_facts(load_facts(rel), model, kb=kb)
        name = rel.stem
        (out / f"{name}.md").write_text(f"<!-- facts: {rel} -->\n{to_markdown(draft)}", encoding="utf-8")
        stats[name] = {k: draft.stats.get(k) for k in ("seconds", "llm_calls", "fact_coverage", "gaps", "answers")}
        print(name, round(time.perf_counter() - started, 1), "s", flush=True)
    (out / "stats.json").write_text(json.dumps({"model": label, "drafts": stats}, ensure_ascii=False, indent=1),
                                    encoding="utf-8")


if __name__ == "__main__":
    main()
