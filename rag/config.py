"""All configuration in one place (pydantic-settings).

App settings use the ``ZHAOJING_`` prefix; the OpenAI-compatible endpoint uses the standard
``OPENAI_API_KEY`` / ``OPENAI_BASE_URL`` names. Values come from the environment or a ``.env`` file.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
KB_DIR = PROJECT_ROOT / "knowledge_base"
PROMPTS_DIR = PROJECT_ROOT / "prompts"
EVALS_DIR = PROJECT_ROOT / "evals"


class Settings(BaseSettings):
    """Runtime settings; see `.env.example` for every name."""

    model_config = SettingsConfigDict(
        env_file=".env", extra="ignore", populate_by_name=True, env_ignore_empty=True
    )

    llm: Literal["embedded", "openai", "fake"] = Field(
        "embedded", validation_alias=AliasChoices("ZHAOJING_LLM", "llm")
    )
    openai_base_url: str | None = Field(None, validation_alias=AliasChoices("OPENAI_BASE_URL", "openai_base_url"))
    openai_api_key: SecretStr | None = Field(None, validation_alias=AliasChoices("OPENAI_API_KEY", "openai_api_key"))
    model: str | None = Field(None, validation_alias=AliasChoices("ZHAOJING_MODEL", "model"))
    gguf: Path | None = Field(None, validation_alias=AliasChoices("ZHAOJING_GGUF", "gguf"))
    data_dir: Path = Field(
        PROJECT_ROOT / "data", validation_alias=AliasChoices("ZHAOJING_DATA_DIR", "data_dir")
    )
    chroma_host: str | None = Field(None, validation_alias=AliasChoices("ZHAOJING_CHROMA_HOST", "chroma_host"))
    chroma_port: int = Field(8000, validation_alias=AliasChoices("ZHAOJING_CHROMA_PORT", "chroma_port"))
    llm_timeout: float = Field(120.0, validation_alias=AliasChoices("ZHAOJING_LLM_TIMEOUT", "llm_timeout"))
    llm_threads: int | None = Field(None, validation_alias=AliasChoices("ZHAOJING_LLM_THREADS", "llm_threads"))
    model_profile: Literal["auto", "small", "large"] = Field(
        "auto", validation_alias=AliasChoices("ZHAOJING_MODEL_PROFILE", "model_profile")
    )
    redact_remote: bool = Field(True, validation_alias=AliasChoices("ZHAOJING_REDACT_REMOTE", "redact_remote"))

    @property
    def is_remote(self) -> bool:
        """True when a configured model call would leave this machine."""
        if self.llm != "openai":
            return False
        url = self.openai_base_url or "https://api.openai.com/v1"
        return not any(h in url for h in ("://127.0.0.1", "://localhost", "://[::1]"))

    @property
    def chroma_dir(self) -> Path:
        return self.data_dir / "chroma"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Process-wide settings (cached; call ``get_settings.cache_clear()`` after changing the env)."""
    return Settings()
