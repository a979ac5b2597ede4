"""User-facing errors. Every message is Chinese and says what to do next."""

from __future__ import annotations


class ZhaojingError(Exception):
    """Base error: ``message`` says what went wrong, ``hint`` what to do next (both Chinese)."""

    def __init__(self, message: str, hint: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}（{self.hint}）" if self.hint else self.message


class InputError(ZhaojingError):
    """Bad user input: malformed facts, empty or oversized drafts, unreadable files."""


class ModelUnavailableError(ZhaojingError):
    """A model (LLM or embedder) cannot be loaded or reached."""


class LLMError(ZhaojingError):
    """An LLM call failed: timeout, transport error, or unusable output."""


class StoreError(ZhaojingError):
    """The knowledge-base or draft store cannot be read or written."""
