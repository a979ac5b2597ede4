"""Convenience layer used by the CLI, the UI and the evals: critique with the knowledge base attached."""

from __future__ import annotations

import threading
from pathlib import Path

from rag.critic.engine import Report, critique, critique_batch, load_config
from rag.critic.similarity import ShingleIndex, clean

_LOCK = threading.Lock()
_CACHE: dict[str, object] = {}
REFERENCE_KINDS = ("exemplar", "case", "policy", "past_material")


def _chunk_fields(chunk) -> tuple[str, dict]:
    meta = dict(getattr(chunk, "metadata", None) or {})
    for key in ("source", "title", "kind", "year", "unit"):
        if hasattr(chunk, key) and key not in meta:
            meta[key] = getattr(chunk, key)
    return chunk.text, meta


def build_corpus_index(chunks) -> tuple[ShingleIndex, str]:
    """A similarity index over knowledge-base chunks, plus their cleaned concatenation for quote checks."""
    index = ShingleIndex(threshold=0.3)
    entries, joined = [], []
    for i, chunk in enumerate(chunks):
        text, meta = _chunk_fields(chunk)
        entries.append((f"{meta.get('source', 'kb')}#{i}", text, meta))
        joined.append(clean(text))
    index.add_many(entries)  # signatures computed together
    return index, "\n".join(joined)


def kb_reference(kb=None) -> tuple[ShingleIndex | None, str]:
    """The corpus index of the configured knowledge base (cached until the store changes)."""
    try:
        if kb is None:
            from rag.kb.store import get_kb

            kb = get_kb()
        key = f"{id(kb)}:{kb.count()}:{len(kb.list_documents())}"
    except Exception:  # noqa: BLE001 - no knowledge base: similarity rules simply don't run
        return None, ""
    with _LOCK:
        if _CACHE.get("key") != key:
            _CACHE["value"] = build_corpus_index(kb.all_chunks(kinds=list(REFERENCE_KINDS)))
            _CACHE["key"] = key
        return _CACHE["value"]  # type: ignore[return-value]


def quote_checker(joined: str):
    """A predicate: is this quoted sentence (nearly) present in the knowledge base?"""
    if not joined:
        return None

    def found(quote: str) -> bool:
        q = clean(quote)
        if not q:
            return True
        if q in joined:
            return True
        grams = {q[i:i + 4] for i in range(len(q) - 3)}
        return bool(grams) and sum(g in joined for g in grams) / len(grams) >= 0.8

    return found


def critique_many(
    texts: dict[str, str],
    *,
    year: int | None = None,
    meeting_type: str | None = None,
    frame_id: str | None = None,
    config_path: Path | None = None,
    use_kb: bool = True,
    kb=None,
    frame=None,
    facts=None,
    proofread: bool = False,
    progress=None,
) -> list[Report]:
    """Critique one or more drafts with the user's config and the knowledge base for similarity rules.

    ``frame`` (a Frame, e.g. the user's own 专题 frame) overrides ``frame_id``; ``facts`` (UnitFacts) turns
    on the grounding rule against them; ``proofread`` adds the model-scored typo pass (``progress(done,
    total)`` per sentence)."""
    config = load_config(config_path)
    corpus, joined = kb_reference(kb) if use_kb else (None, "")
    known = None
    if facts is not None:
        from rag.draft.pipeline import known_text
        from rag.draft.plan import resolve_frame

        frame = frame or resolve_frame(facts)
        known = known_text(facts, frame)
        year = year or facts.year
        meeting_type = meeting_type or facts.meeting_type
    kwargs = dict(year=year, meeting_type=meeting_type, frame_id=frame_id, config=config, corpus=corpus,
                  quote_sources=quote_checker(joined), frame=frame, known_text=known)
    if len(texts) == 1:
        name, text = next(iter(texts.items()))
        reports = [critique(text, name=name, **kwargs)]
    else:
        reports = critique_batch(texts, **kwargs)
    if proofread:
        reports = [with_proofreading(r, t, progress) for r, t in zip(reports, texts.values(), strict=True)]
    return reports


def with_proofreading(report: Report, text: str, progress=None) -> Report:
    """The report with the deep proofreading findings added (and the summary recomputed)."""
    from rag.critic.engine import summarise
    from rag.critic.proofread import findings, proofread

    extra = findings(text, proofread(text, progress=progress))
    merged = sorted([*report.findings, *extra], key=lambda f: (f.start, f.end))
    return report.model_copy(update={"findings": merged, "summary": summarise(merged, report.context)})
