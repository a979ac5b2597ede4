"""Outbound-connection guard for end-to-end runs (imported automatically when this folder is on PYTHONPATH).

Every ``socket.connect`` / ``connect_ex`` / ``sendto``, ``socket.create_connection`` and ``getaddrinfo`` to a
host that is not loopback is refused with ``OSError`` and written, one JSON line each, to the file named
by ``ZHAOJING_GUARD_LOG``. At exit the process also writes its telemetry-related settings there
(``{"exit": ...}``), so a test can check them as they were inside the process, not only as it was started.
Nothing here is used by the product; ``tests/test_outbound.py`` runs the CLI and the app under it.
"""

from __future__ import annotations

import atexit
import ipaddress
import json
import os
import socket
import sys
import traceback

LOG = os.environ.get("ZHAOJING_GUARD_LOG", "")
TELEMETRY_VARS = (
    "ANONYMIZED_TELEMETRY", "CHROMA_TELEMETRY", "LANGCHAIN_TRACING_V2", "LANGSMITH_TRACING", "LANGCHAIN_TRACING",
    "STREAMLIT_BROWSER_GATHER_USAGE_STATS", "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "DO_NOT_TRACK",
)
_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost", ""}


def _write(record: dict) -> None:
    if not LOG:
        return
    with open(LOG, "a", encoding="utf-8") as fh:
        fh.write(json.dumps(record, ensure_ascii=False, default=str) + "\n")


def is_local(host: object) -> bool:
    """True for loopback addresses and names (and for non-IP families such as Unix sockets)."""
    if host is None:
        return True
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    if not isinstance(host, str):
        return True
    name = host.strip("[]").split("%")[0].lower()
    if name in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def _refuse(kind: str, host: object, port: object) -> None:
    stack = [f"{f.filename}:{f.lineno}" for f in traceback.extract_stack()[:-2]][-6:]
    _write({"blocked": kind, "host": str(host), "port": str(port), "argv": sys.argv[:3], "stack": stack})
    raise OSError(f"outbound connection blocked by the test guard: {host}:{port}")


def _check_address(kind: str, family: int, address: object) -> None:
    if family == getattr(socket, "AF_UNIX", None) or not isinstance(address, tuple) or not address:
        return
    if not is_local(address[0]):
        _refuse(kind, address[0], address[1] if len(address) > 1 else "")


_connect, _connect_ex, _sendto = socket.socket.connect, socket.socket.connect_ex, socket.socket.sendto
_create_connection, _getaddrinfo = socket.create_connection, socket.getaddrinfo


def _guarded_connect(self, address):
    _check_address("connect", self.family, address)
    return _connect(self, address)


def _guarded_connect_ex(self, address):
    _check_address("connect_ex", self.family, address)
    return _connect_ex(self, address)


def _guarded_sendto(self, data, *args):
    _check_address("sendto", self.family, args[-1] if args else None)
    return _sendto(self, data, *args)


def _guarded_create_connection(address, *args, **kwargs):
    _check_address("create_connection", socket.AF_INET, address)
    return _create_connection(address, *args, **kwargs)


def _guarded_getaddrinfo(host, port, *args, **kwargs):
    if not is_local(host):
        _refuse("getaddrinfo", host, port)
    return _getaddrinfo(host, port, *args, **kwargs)


def _snapshot() -> None:
    record: dict = {"exit": sys.argv[:3], "env": {k: os.environ.get(k) for k in TELEMETRY_VARS}}
    config = sys.modules.get("streamlit.config")
    if config is not None:
        try:
            record["streamlit"] = {k: config.get_option(k) for k in ("browser.gatherUsageStats", "server.address")}
        except Exception as exc:  # noqa: BLE001 - diagnostics only
            record["streamlit"] = {"error": repr(exc)}
    record["rag_imported"] = "rag" in sys.modules
    _write(record)


if LOG:
    socket.socket.connect = _guarded_connect
    socket.socket.connect_ex = _guarded_connect_ex
    socket.socket.sendto = _guarded_sendto
    socket.create_connection = _guarded_create_connection
    socket.getaddrinfo = _guarded_getaddrinfo
    atexit.register(_snapshot)
