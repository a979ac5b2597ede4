"""What the Streamlit app needs that is not Streamlit: the process-wide model pool and background head starts,
the readable words of a streamed slot answer, and the evaluation datasets the 评测 page offers.

``ui/common.py`` adapts these to the page (session state, widgets); nothing here imports Streamlit.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from langchain_core.language_models import BaseChatModel

from rag.config import EVALS_DIR, Settings
from rag.errors import ZhaojingError

log = logging.getLogger(__name__)

DATASETS_ENV = "ZHAOJING_EVAL_DATASETS"
DATASET_KINDS = {"drafting": "起草", "critique": "批改"}


# ------------------------------------------------------------------------------ models shared by sessions

def model_key(settings: Settings) -> tuple:
    """What makes two settings give the same model (the API key only as a short fingerprint)."""
    secret = settings.openai_api_key.get_secret_value() if settings.openai_api_key else ""
    fingerprint = hashlib.sha256(secret.encode()).hexdigest()[:12] if secret else ""
    return settings.llm, settings.openai_base_url, settings.model, str(settings.gguf), fingerprint


class ModelPool:
    """Chat models shared by every session of a process, one per :func:`model_key` (the embedded model is
    loaded once), and the keys of once-per-process background jobs."""

    def __init__(self) -> None:
        self.models: dict[tuple, BaseChatModel] = {}
        self.started: set[str] = set()
        self._lock = threading.Lock()

    def get(self, settings: Settings, build: Callable[[Settings], BaseChatModel] | None = None) -> BaseChatModel:
        """The model for these settings, built with ``build`` (default ``rag.llm.get_chat_model``) on first use."""
        key = model_key(settings)
        with self._lock:
            if key not in self.models:
                if build is None:
                    from rag.llm import get_chat_model

                    build = get_chat_model
                self.models[key] = build(settings)
            return self.models[key]

    def holds(self, model: Any) -> bool:
        """True when ``model`` is one of the shared models (not, say, a test's injected model)."""
        return any(model is m for m in self.models.values())

    def first_time(self, key: str) -> bool:
        """True the first time ``key`` is seen by this pool (a background job then starts for it)."""
        with self._lock:
            if key in self.started:
                return False
            self.started.add(key)
            return True


def in_background(name: str, job: Callable[[], Any]) -> threading.Thread:
    """Run ``job()`` in a daemon thread; its failure is only logged (these are head starts: the draft itself
    reports errors)."""

    def work() -> None:
        try:
            job()
        except Exception:  # noqa: BLE001 - see above
            log.warning("background job %s failed", name, exc_info=True)

    thread = threading.Thread(target=work, name=f"zhaojing-{name}", daemon=True)
    thread.start()
    return thread


def read_ahead_key(settings: Settings, facts: Any) -> str:
    """The once-per-process key of reading ahead for these facts with this model."""
    digest = hashlib.sha256((repr(model_key(settings)) + facts.model_dump_json()).encode()).hexdigest()
    return f"read-ahead {digest}"


# ------------------------------------------------------------------------------ streamed slot answers

_JSON_STRING = re.compile(r'"((?:[^"\\]|\\.)*)("?)(\s*:)?')
_HAN = re.compile(r"[\u4e00-\u9fff]")


def readable_stream(partial_json: str) -> str:
    """The words of a slot answer being streamed (``{"原因": "把…`` → ``把…``): string values only,
    keys and fact ids left out, the last value possibly unfinished."""
    values = [m.group(1) for m in _JSON_STRING.finditer(partial_json) if not m.group(3) and _HAN.search(m.group(1))]
    return " · ".join(values)


# ------------------------------------------------------------------------------ evaluation datasets

def eval_datasets_dir() -> Path:
    """Folder of evaluation datasets (``evals/datasets``; ``ZHAOJING_EVAL_DATASETS`` overrides)."""
    return Path(os.environ.get(DATASETS_ENV) or EVALS_DIR / "datasets")


def eval_datasets() -> list:
    """Valid datasets: the ``ZHAOJING_EVAL_DATASETS`` folder if set, else shipped plus user-added ones.
    Files that do not load as a dataset are left out."""
    from rag.evals.datasets import list_datasets, load_dataset

    if os.environ.get(DATASETS_ENV):
        paths = sorted(p for p in eval_datasets_dir().glob("*") if p.suffix in (".yaml", ".yml", ".json")
                       and not p.name.endswith(".schema.json"))
    else:
        paths = list_datasets()
    found = []
    for path in paths:
        try:
            found.append(load_dataset(path))
        except ZhaojingError:
            continue
    return found


def dataset_label(ds: Any) -> str:
    """“drafting.yaml（起草，14 例）”."""
    return f"{ds.path.name}（{DATASET_KINDS[ds.kind]}，{len(ds.cases)} 例）"
