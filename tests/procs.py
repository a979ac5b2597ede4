"""Process helpers shared by the tests that start real servers (Streamlit, Chroma)."""

from __future__ import annotations

import os
import signal
import subprocess


def stop_group(proc: subprocess.Popen, grace: float = 20, kill_wait: float = 10) -> None:
    """Stop a server started with ``start_new_session=True``: SIGTERM to its process group, then SIGKILL
    if it has not exited within ``grace`` seconds."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=kill_wait)
