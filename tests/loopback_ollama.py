"""A TEST DOUBLE of Ollama's HTTP API on 127.0.0.1, backed by the embedded model.

No Ollama server can be installed on the test machines, so this serves the documented
endpoints ``ChatOllama`` and the ``ollama`` client use — ``POST /api/chat`` (one JSON
answer, or NDJSON chunks when ``stream`` is true; ``format`` a JSON schema or ``"json"``),
``GET /api/tags``, ``POST /api/show`` — and answers chats with the real embedded llama.cpp
model (through its OpenAI-compatible endpoint, the schema passed on as
``response_format``). ``faults`` is a queue like the OpenAI double's: (status, headers)
or ``"drop"``; ``delay_s`` delays every chat answer. See https://github.com/ollama/ollama/blob/main/docs/api.md.
"""

from __future__ import annotations

import json
import threading
import time
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from backend.llm.loopback import JSONHandler, post_json, serving

MODEL = "smollm2:135m"
CREATED_AT = "2026-11-29T00:00:00Z"
DETAILS = {
    "format": "gguf",
    "family": "llama",
    "families": ["llama"],
    "parameter_size": "135M",
    "quantization_level": "Q4_1",
}


class _Handler(JSONHandler):
    server: OllamaDouble
    content_type = "application/json; charset=utf-8"

    def do_GET(self) -> None:
        if self.path != "/api/tags":
            self.send_json(404, {"error": "404 page not found"})
            return
        model = {"name": MODEL, "model": MODEL, "modified_at": CREATED_AT, "size": 93_000_000}
        self.send_json(200, {"models": [{**model, "digest": "0" * 64, "details": DETAILS}]})

    def do_POST(self) -> None:
        body = self.read_json()
        server = self.server
        with server.lock:
            server.requests.append({"path": self.path, **body})
            fault = server.faults.pop(0) if server.faults and self.path == "/api/chat" else None
        if fault == "drop":
            self.drop_connection()
            return
        if isinstance(fault, tuple):
            status, headers = fault
            self.send_json(status, {"error": f"injected {status}"}, headers)
            return
        if body.get("model") not in (MODEL, MODEL.split(":")[0]):
            self.send_json(404, {"error": f"model '{body.get('model')}' not found"})
        elif self.path == "/api/show":
            self.send_json(
                200,
                {"details": DETAILS, "capabilities": ["completion"], "model_info": {}},
                {},
            )
        elif self.path == "/api/chat":
            self._chat(body)
        else:
            self.send_json(404, {"error": "404 page not found"})

    def _chat(self, body: dict[str, Any]) -> None:
        time.sleep(self.server.delay_s)
        content, usage = self.server.complete(body)
        final = {
            "model": body["model"],
            "created_at": CREATED_AT,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": usage.get("prompt_tokens", 0),
            "eval_count": usage.get("completion_tokens", 0),
            "total_duration": 1,
        }
        if not body.get("stream", True):
            final["message"]["content"] = content
            self.send_json(200, final)
            return
        self.send_response(200)
        self.send_header("Content-Type", "application/x-ndjson")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        pieces = [content[i : i + 16] for i in range(0, len(content), 16)]
        for piece in pieces:
            self._chunk(
                {**final, "message": {"role": "assistant", "content": piece}, "done": False}
            )
        self._chunk(final)
        self.wfile.write(b"0\r\n\r\n")

    def _chunk(self, line: dict[str, Any]) -> None:
        data = json.dumps(line).encode() + b"\n"
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()


class OllamaDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, api_key: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.upstream, self.api_key = upstream, api_key
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[tuple[int, dict[str, str]] | str] = []
        self.delay_s = 0.0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def complete(self, body: dict[str, Any]) -> tuple[str, dict[str, int]]:
        """The embedded model's answer to an Ollama chat request, and its token usage."""
        options = body.get("options") or {}
        request: dict[str, Any] = {
            "messages": [{"role": m["role"], "content": m["content"]} for m in body["messages"]],
            "max_tokens": options.get("num_predict", 512),
            "temperature": options.get("temperature", 0.2),
            "seed": 42,
        }
        schema = body.get("format")
        if isinstance(schema, dict):
            request["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "answer", "schema": schema},
            }
        elif schema == "json":
            request["response_format"] = {"type": "json_object"}
        completion = post_json(f"{self.upstream}/chat/completions", request, self.api_key)
        return completion["choices"][0]["message"]["content"], completion.get("usage", {})


def ollama_double(upstream: str, api_key: str) -> AbstractContextManager[OllamaDouble]:
    """``upstream``: the embedded model's OpenAI-compatible base URL (``.../v1``)."""
    return serving(OllamaDouble(upstream, api_key))
