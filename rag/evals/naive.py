"""The naive baseline drafter: one prompt with the facts and the top retrieved passages, same model.

No slots, no guard, no critic-driven revision — the thing the real pipeline has to beat (issue: "a baseline
to beat"). Its output is whatever text the model writes; the eval measures it exactly like the pipeline's.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import HumanMessage

from rag.draft import prompting
from rag.draft.facts import UnitFacts
from rag.frames import Frame
from rag.llm import invoke_text

PASSAGES = 3
MAX_TOKENS = 1024  # the embedded model's default answer length; a whole draft fits in it


def retrieve(kb: Any, frame: Frame, k: int = PASSAGES) -> list[dict[str, str]]:
    """Top passages for the year's frame (policy and exemplars); empty without a knowledge base."""
    if kb is None:
        return []
    query = f"{frame.name} {' '.join(a.name for a in frame.aspects)}"
    try:
        hits = kb.search(query, k=k, kinds=["policy", "exemplar"])
    except Exception:  # noqa: BLE001 - retrieval helps; the baseline still runs without it
        return []
    return [{"source": h.source, "text": " ".join(h.text.split())[:300]} for h in hits]


def naive_draft(facts: UnitFacts, frame: Frame, model: BaseChatModel, kb: Any = None) -> dict[str, Any]:
    """Draft with one prompt. Returns ``{"text", "passages", "stats"}``."""
    started = time.perf_counter()
    passages = retrieve(kb, frame)
    prompt = prompting.render(
        "naive", unit=facts.unit, meeting_type=facts.meeting_type, year=facts.year, frame_name=frame.name,
        aspects=[a.name for a in frame.aspects], facts=[{"id": f.id, "text": f.text, "source": f.source}
                                                         for f in facts.facts],
        passages=[p["text"] for p in passages],
    )
    kwargs = {"max_tokens": MAX_TOKENS} if type(model).__name__ == "ChatLlamaCpp" else {}
    text = invoke_text(model, [HumanMessage(content=prompt)], **kwargs)
    stats = {"seconds": round(time.perf_counter() - started, 2), "llm_calls": 1}
    return {"text": text.strip(), "passages": passages, "stats": stats}
