"""Telemetry switches: everything that could phone home is turned off at import time."""

import os

_OFF = {
    "ANONYMIZED_TELEMETRY": "False",  # chromadb
    "CHROMA_TELEMETRY": "False",
    "LANGCHAIN_TRACING_V2": "false",
    "LANGSMITH_TRACING": "false",
    "LANGCHAIN_TRACING": "false",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
}


def disable_telemetry() -> None:
    """Force telemetry-related environment variables off (overrides user values on purpose)."""
    for key, value in _OFF.items():
        os.environ[key] = value
