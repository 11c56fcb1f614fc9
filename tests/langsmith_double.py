"""A test double of LangSmith's ingest API on 127.0.0.1: answers ``GET /info`` and keeps
every run posted to ``/runs/multipart`` (or ``/runs/batch``), so a test can check what
a traced process sent. Not LangSmith: only what its client needs to send runs."""

from __future__ import annotations

import email
import json
import threading
from contextlib import AbstractContextManager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from backend.llm.loopback import serving

__all__ = ["LangSmithDouble", "langsmith_double"]

_INFO = {
    "version": "0.10",
    "batch_ingest_config": {
        "use_multipart_endpoint": True,
        "scale_up_qsize_trigger": 1000,
        "scale_up_nthreads_limit": 16,
        "scale_down_nempty_trigger": 4,
        "size_limit": 100,
        "size_limit_bytes": 20_971_520,
    },
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LangSmithDouble

    def do_GET(self) -> None:
        self._reply(_INFO)

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        content_type = self.headers.get("Content-Type", "")
        with self.server.lock:
            self.server.requests += 1
            if content_type.startswith("multipart/"):
                self.server.runs.extend(_multipart_runs(content_type, body))
            elif body:
                batch = json.loads(body)
                self.server.runs.extend(batch.get("post", []) + batch.get("patch", []))
        self._reply({})

    def _reply(self, answer: dict[str, Any]) -> None:
        payload = json.dumps(answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        return None


def _multipart_runs(content_type: str, body: bytes) -> list[dict[str, Any]]:
    """The run objects of a multipart ingest (parts ``post.<id>`` and ``patch.<id>``;
    ``post.<id>.inputs`` and the like carry a run's payloads, not kept)."""
    message = email.message_from_bytes(f"Content-Type: {content_type}\r\n\r\n".encode() + body)
    runs = []
    for part in message.walk():
        name = part.get_param("name", header="content-disposition") or ""
        kind, _, rest = str(name).partition(".")
        if kind in ("post", "patch") and "." not in rest:
            payload = part.get_payload(decode=True)
            runs.append(json.loads(payload if isinstance(payload, bytes) else b"{}"))
    return runs


class LangSmithDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests = 0
        self.runs: list[dict[str, Any]] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def langsmith_double() -> AbstractContextManager[LangSmithDouble]:
    """The double, answering from a thread of its own until the block ends."""
    return serving(LangSmithDouble())
