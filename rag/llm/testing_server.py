"""A small OpenAI-compatible HTTP server for tests and benchmarks (stdlib only).

    with FakeOpenAIServer(latency=0.3) as srv:
        model = ChatOpenAI(base_url=srv.base_url, api_key="test", model="fake")
        ...
        assert srv.requests[-1]["messages"][-1]["content"] == "你好"

Serves ``POST /v1/chat/completions`` (JSON or SSE streaming) and ``GET /v1/models`` on 127.0.0.1 at
a free port. ``faults`` is a queue consumed one per chat request:

* ``"timeout"``   – stall (``stall_seconds``) without answering, so the client times out
* ``"429"``, ``"500"``, any 3-digit code – an OpenAI-style error with that status
* ``"reset"``     – close the TCP connection with a RST, no response
* ``"truncated"`` – stream half of the answer, then drop the connection mid-body
* ``"garbage"``   – HTTP 200 with a body that is not JSON
* ``"empty"``     – a well-formed answer with empty content
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[list[dict[str, Any]]], str]
FAULTS = ("timeout", "reset", "truncated", "garbage", "empty")


def echo_responder(messages: list[dict[str, Any]]) -> str:
    """Default responder: echo the last user message."""
    user = [m for m in messages if m.get("role") == "user"]
    content = user[-1].get("content", "") if user else ""
    if isinstance(content, list):  # content blocks
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return f"收到：{content}"


class FakeOpenAIServer:
    """OpenAI-compatible chat server in a background thread; use as a context manager."""

    def __init__(
        self,
        *,
        latency: float = 0.0,
        responder: Responder | None = None,
        faults: Iterable[str] = (),
        model: str = "fake-model",
        stall_seconds: float = 30.0,
        retry_after_ms: int | None = 10,
        chunk_chars: int = 2,
        chunk_delay: float = 0.0,
    ) -> None:
        self.latency = latency
        self.responder: Responder = responder or echo_responder
        self.faults: deque[str] = deque(faults)
        self.model = model
        self.stall_seconds = stall_seconds
        self.retry_after_ms = retry_after_ms
        self.chunk_chars = max(1, chunk_chars)
        self.chunk_delay = chunk_delay
        self.requests: list[Any] = []
        """Every chat-completion request body (parsed JSON, or the raw text if it was not JSON)."""
        self.headers: list[dict[str, str]] = []
        """Request headers (lower-cased names), parallel to ``requests``."""
        self.hits: list[tuple[str, str]] = []
        """(method, path) of every request, any endpoint."""
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        """Bind 127.0.0.1 on a free port and serve in a daemon thread."""
        handler = type("BoundHandler", (_Handler,), {"fake": self})
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving; stalled handlers are woken up."""
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- helpers -----------------------------------------------------------------------------
    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._httpd is None:
            raise RuntimeError("FakeOpenAIServer is not started")
        return int(self._httpd.server_address[1])

    @property
    def base_url(self) -> str:
        """OpenAI base URL, e.g. ``http://127.0.0.1:54321/v1``."""
        return f"http://127.0.0.1:{self.port}/v1"

    def add_faults(self, *faults: str) -> None:
        """Queue faults for the next chat requests."""
        self.faults.extend(faults)

    def sleep(self, seconds: float) -> None:
        """Sleep, but wake up early when the server stops."""
        if seconds > 0:
            self._stopping.wait(seconds)

    def next_fault(self) -> str | None:
        """Pop the next queued fault, if any."""
        try:
            return self.faults.popleft()
        except IndexError:
            return None


class _Handler(BaseHTTPRequestHandler):
    """Request handler; ``fake`` is bound to the owning FakeOpenAIServer by a subclass."""

    fake: FakeOpenAIServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        """Silence the default stderr access log."""

    # -- routing -------------------------------------------------------------------------------
    def do_GET(self) -> None:  # noqa: N802 - stdlib naming
        self.fake.hits.append(("GET", self.path))
        if self.path.rstrip("/") == "/v1/models":
            model = {"id": self.fake.model, "object": "model", "created": 0, "owned_by": "zhaojing-tests"}
            self._send_json(200, {"object": "list", "data": [model]})
        else:
            self._send_error(404, "not found", "invalid_request_error")

    def do_POST(self) -> None:  # noqa: N802 - stdlib naming
        self.fake.hits.append(("POST", self.path))
        raw = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode("utf-8", "replace")
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_error(404, "not found", "invalid_request_error")
            return
        body = _parse_json(raw)
        self.fake.requests.append(body if body is not None else raw)
        self.fake.headers.append({k.lower(): v for k, v in self.headers.items()})
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            self._send_error(400, "body must be JSON with a 'messages' list", "invalid_request_error")
            return
        self._chat(body)

    # -- chat ------------------------------------------------------------------------------------
    def _chat(self, body: dict[str, Any]) -> None:
        fault = self.fake.next_fault()
        self.fake.sleep(self.fake.latency)
        if fault and self._apply_fault(fault):
            return
        try:
            text = "" if fault == "empty" else self.fake.responder(body["messages"])
        except Exception as exc:  # responder bugs surface as a 500 to the client
            self._send_error(500, f"responder failed: {exc}", "server_error")
            return
        text, finish = _limit(text, body.get("max_completion_tokens") or body.get("max_tokens"))
        usage = _usage(body["messages"], text)
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
            self._stream(text, finish, usage if include_usage else None, truncate=fault == "truncated")
        else:
            self._send_json(200, self._completion(text, finish, usage))

    def _apply_fault(self, fault: str) -> bool:
        """Act out a fault; True when the request is fully handled by it."""
        if fault == "timeout":
            self.fake.sleep(self.fake.stall_seconds)
            self.close_connection = True
            return True
        if fault == "reset":
            self._reset()
            return True
        if fault == "garbage":
            self._send_raw(200, b"<html>upstream gateway says: not json {{{", "application/json")
            return True
        if fault.isdigit() and len(fault) == 3:
            code = int(fault)
            kind = "rate_limit_error" if code == 429 else "server_error"
            self._send_error(code, f"simulated HTTP {code}", kind)
            return True
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r}")
        return False  # "truncated" and "empty" shape the normal answer

    def _completion(self, text: str, finish: str, usage: dict[str, int]) -> dict[str, Any]:
        return {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": self.fake.model,
            "choices": [
                {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": finish}
            ],
            "usage": usage,
        }

    def _stream(self, text: str, finish: str, usage: dict[str, int] | None, *, truncate: bool) -> None:
        """Send the answer as SSE over chunked transfer encoding."""
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        events = _stream_events(self.fake, text, finish, usage)
        cut = max(2, len(events) // 2) if truncate else None
        for index, event in enumerate(events):
            if cut is not None and index >= cut:
                self._drop()
                return
            self._write_chunk(f"data: {event}\n\n".encode())
            self.fake.sleep(self.fake.chunk_delay)
        self._write_chunk(b"")

    # -- low-level writes --------------------------------------------------------------------
    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _send_json(self, status: int, payload: Any) -> None:
        self._send_raw(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _send_error(self, status: int, message: str, kind: str) -> None:
        payload = {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}
        data = json.dumps(payload).encode()
        self.send_response(status)
        if self.fake.retry_after_ms is not None and status in (429, 500, 502, 503, 504):
            self.send_header("retry-after-ms", str(self.fake.retry_after_ms))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_raw(self, status: int, data: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _drop(self) -> None:
        """Close the socket mid-response (the client sees an incomplete chunked body)."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _reset(self) -> None:
        """Abort the connection with a TCP RST before any response bytes."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()


def _parse_json(raw: str) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _limit(text: str, max_tokens: Any) -> tuple[str, str]:
    """Cut the answer at ``max_tokens`` characters (the fake's "tokens")."""
    if isinstance(max_tokens, int) and 0 < max_tokens < len(text):
        return text[:max_tokens], "length"
    return text, "stop"


def _usage(messages: list[dict[str, Any]], text: str) -> dict[str, int]:
    prompt = sum(len(str(m.get("content") or "")) for m in messages)
    return {"prompt_tokens": prompt, "completion_tokens": len(text), "total_tokens": prompt + len(text)}


def _stream_events(fake: FakeOpenAIServer, text: str, finish: str, usage: dict[str, int] | None) -> list[str]:
    """The SSE ``data:`` payloads of one streamed answer, ``[DONE]`` included."""
    base = {
        "id": f"chatcmpl-{uuid.uuid4().hex[:12]}",
        "object": "chat.completion.chunk",
        "created": int(time.time()),
        "model": fake.model,
    }

    def event(delta: dict[str, Any], finish_reason: str | None = None) -> str:
        choice = {"index": 0, "delta": delta, "finish_reason": finish_reason}
        return json.dumps({**base, "choices": [choice]}, ensure_ascii=False)

    step = fake.chunk_chars
    events = [event({"role": "assistant", "content": ""})]
    events += [event({"content": text[i : i + step]}) for i in range(0, len(text), step)]
    events.append(event({}, finish))
    if usage is not None:
        events.append(json.dumps({**base, "choices": [], "usage": usage}))
    events.append("[DONE]")
    return events
