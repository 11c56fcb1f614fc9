"""A test double of an OpenAI-compatible server on 127.0.0.1, for tests and benchmarks.

It answers chat completions with a valid instance of the requested JSON schema
(``backend.llm.testing.instance_for``), over real HTTP/1.1 with keep-alive, so the real
SDK client and its connection pool are exercised. ``faults`` is a queue of answers to
give before succeeding: (status, headers), ``"drop"`` (close the connection without
answering), ``"malformed"`` (a 200 whose body is not JSON) or ``("slow", seconds)`` (a
valid answer, late)."""

from __future__ import annotations

import json
import random
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

from .testing import instance_for

Fault = tuple[int, dict[str, str]] | tuple[str, float] | str


class JSONHandler(BaseHTTPRequestHandler):
    """What every loopback double's handler shares: HTTP/1.1 keep-alive (connections
    outlive a request, as with a real server), no access log, JSON in and out."""

    protocol_version = "HTTP/1.1"
    content_type = "application/json"
    # Headers and body are written separately: with Nagle's algorithm on, a kept-alive
    # connection then stalls ~40 ms per answer on the client's delayed ACK, which every
    # benchmark against this server would count as ours.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def read_json(self) -> Any:
        return json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")

    def send_json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", self.content_type)
            self.send_header("Content-Length", str(len(payload)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            # The client gave up first (its deadline passed, or it was cancelled), as
            # clients of a real server do: nobody is left to answer.
            self.close_connection = True

    def drop_connection(self) -> None:
        """Close the connection without answering (a crashed or cut-off server)."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)


class _Handler(JSONHandler):
    server: LoopbackServer

    def do_POST(self) -> None:
        request = self.read_json()
        server = self.server
        with server.lock:
            server.requests.append(request)
            server.arrivals.append(time.monotonic())
            fault = server.faults.pop(0) if server.faults else None
            server.in_flight += 1
            server.peak_in_flight = max(server.peak_in_flight, server.in_flight)
            overloaded = 0 < server.max_in_flight < server.in_flight
        try:
            if overloaded:
                fault = (429, {})
            elif fault is None and server.fault_rate and server.random.random() < server.fault_rate:
                fault = server.random.choice([(429, {"Retry-After": "1"}), (503, {})])
            with server.lock:
                server.answered.append((request, fault is None))
            time.sleep(
                server.random.uniform(server.delay_s, max(server.delay_s, server.max_delay_s))
            )
            self._answer(request, fault)
        finally:
            with server.lock:
                server.in_flight -= 1

    def _answer(self, request: dict[str, Any], fault: Fault | None) -> None:
        if fault == "drop":
            self.drop_connection()
            return
        if fault == "malformed":
            payload = b'{"id": "chatcmpl-loopback", "choices": [{"mess'
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            return
        if isinstance(fault, tuple) and fault[0] == "slow":
            time.sleep(float(fault[1]))
        elif isinstance(fault, tuple) and isinstance(fault[0], int) and isinstance(fault[1], dict):
            status, headers = fault
            self.send_json(status, {"error": {"message": f"injected {status}"}}, headers)
            return
        if self.server.upstream is not None:
            self.send_json(200, self.server.forward(request), {})
            return
        schema = request.get("response_format", {}).get("json_schema", {}).get("schema", {})
        content = json.dumps(instance_for(schema))
        self.send_json(
            200,
            {
                "id": "chatcmpl-loopback",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", "loopback"),
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": content},
                        "finish_reason": "stop",
                    }
                ],
                "usage": {"prompt_tokens": 12, "completion_tokens": 34, "total_tokens": 46},
            },
            {},
        )


class LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a benchmark opens hundreds of connections at once

    def __init__(self, upstream: tuple[str, str] | None = None) -> None:
        """``upstream``: (base URL, API key) of a real OpenAI-compatible server (e.g. the
        embedded llama.cpp one) that answers whatever is not a fault; None: answer with a
        generated instance of the schema."""
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream = upstream
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        #: When each request arrived (``time.monotonic()``).
        self.arrivals: list[float] = []
        #: Each request, and whether it was answered (not given a fault).
        self.answered: list[tuple[dict[str, Any], bool]] = []
        self.faults: list[Fault] = []
        #: Seconds each answer takes (uniform up to ``max_delay_s`` when that is larger);
        #: above ``max_in_flight`` requests at once (0: no cap), the server answers 429;
        #: ``fault_rate`` of the answers are a 429 (Retry-After: 1) or a 503, at random.
        self.delay_s = 0.0
        self.max_delay_s = 0.0
        self.fault_rate = 0.0
        self.random = random.Random(0)
        self.max_in_flight = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1"

    def forward(self, request: dict[str, Any]) -> dict[str, Any]:
        assert self.upstream is not None
        base_url, api_key = self.upstream
        return post_json(f"{base_url}/chat/completions", request, api_key)


def post_json(url: str, body: dict[str, Any], api_key: str) -> dict[str, Any]:
    """POST ``body`` to an OpenAI-compatible endpoint (the embedded server) and return
    its JSON answer."""
    call = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {api_key}"},
    )
    with urllib.request.urlopen(call, timeout=300) as answer:
        answered: dict[str, Any] = json.loads(answer.read())
    return answered


S = TypeVar("S", bound=ThreadingHTTPServer)


@contextmanager
def serving(server: S) -> Iterator[S]:
    """``server`` answering from a thread of its own until the block ends."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def loopback_openai(
    upstream: tuple[str, str] | None = None,
) -> AbstractContextManager[LoopbackServer]:
    return serving(LoopbackServer(upstream))


def main() -> None:
    """``python -m backend.llm.loopback [--delay S] [--max-delay S] [--fault-rate F]``:
    serve until killed; prints the base URL (what the benchmarks run in a process of
    its own)."""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--delay", type=float, default=0.0, help="seconds per answer")
    parser.add_argument("--max-delay", type=float, default=0.0, help="up to (uniform)")
    parser.add_argument("--fault-rate", type=float, default=0.0, help="429s and 503s")
    args = parser.parse_args()
    server = LoopbackServer()
    server.delay_s, server.max_delay_s = args.delay, args.max_delay
    server.fault_rate = args.fault_rate
    print(server.base_url, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
