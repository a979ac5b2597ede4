"""The proofreading set: sentences with one real-style typo, and right sentences with rare words.

A typo is caught when the proofreader flags its character with the meant correction (for a doubled
character, deleting either copy counts). Precision is over all flags (a flag on a right sentence, or on
the wrong character, is a false alarm). Time is reported per 3,000 characters.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import yaml


def load_cases(path: str | Path) -> list[dict]:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _caught(case: dict, typo: dict, flags: list) -> bool:
    at, right = typo["at"], typo["correct"]
    for f in flags:
        if f.start == at and f.correct == right:
            return True
        if right == "" and f.correct == "" and abs(f.start - at) <= 1:  # either copy of a doubled character
            return True
    return False


def evaluate(cases: list[dict], scorer=None, margin: float | None = None,
             progress: Callable[[int, int], None] | None = None) -> dict:
    """Recall, precision, the misses and false alarms, and the time per 3,000 characters."""
    from rag.critic.proofread import MARGIN, proofread

    found, total, flags_all, false_alarms, misses = Counter(), Counter(), 0, [], []
    chars, started = 0, time.perf_counter()
    for n, case in enumerate(cases, start=1):
        flags = proofread(case["text"], scorer, margin=margin if margin is not None else MARGIN)
        chars += len(case["text"])
        flags_all += len(flags)
        for typo in case.get("typos") or []:
            total[case["kind"]] += 1
            if _caught(case, typo, flags):
                found[case["kind"]] += 1
            else:
                misses.append({"id": case["id"], "wrong": typo["wrong"], "correct": typo["correct"]})
        right = [f for f in flags if not any(_caught(case, t, [f]) for t in case.get("typos") or [])]
        false_alarms += [{"id": case["id"], "flag": f"{f.wrong}→{f.correct or '删'}"} for f in right]
        if progress:
            progress(n, len(cases))
    seconds = time.perf_counter() - started
    typos = sum(total.values())
    hits = sum(found.values())
    return {
        "typos": typos, "caught": hits, "recall": round(hits / typos, 3) if typos else None,
        "flags": flags_all, "false_alarms": len(false_alarms),
        "precision": round((flags_all - len(false_alarms)) / flags_all, 3) if flags_all else None,
        "by_kind": {k: f"{found[k]}/{total[k]}" for k in sorted(total)},
        "seconds": round(seconds, 1), "seconds_per_3000": round(seconds * 3000 / max(chars, 1), 1),
        "misses": misses, "false_alarm_list": false_alarms,
    }
