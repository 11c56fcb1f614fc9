"""A test double of the Gemini API (``generativelanguage.googleapis.com``) on 127.0.0.1.

Answers ``POST /v1beta/models/{model}:generateContent`` as the public reference documents
it (https://ai.google.dev/api/generate-content): a candidate whose text is a valid
instance of ``generationConfig.responseJsonSchema`` (``backend.llm.testing.instance_for``),
with ``usageMetadata``. ``faults`` is a queue of named exchanges to give first, each
shaped like the real API's: ``rate_limited`` (429 RESOURCE_EXHAUSTED with a RetryInfo
delay), ``invalid_key`` (400 API_KEY_INVALID), ``permission_denied`` (403),
``safety`` (the prompt blocked, no candidate), ``malformed_call`` (finishReason
MALFORMED_FUNCTION_CALL, no content), ``internal`` (500) and ``unavailable`` (503).
"""

from __future__ import annotations

import json
import re
import threading
from contextlib import AbstractContextManager
from http.server import ThreadingHTTPServer
from typing import Any

from backend.llm.loopback import JSONHandler, serving
from backend.llm.testing import instance_for

USAGE = {"promptTokenCount": 21, "candidatesTokenCount": 34, "totalTokenCount": 55}


def _error(code: int, status: str, message: str, *details: dict[str, Any]) -> tuple[int, Any]:
    return code, {
        "error": {"code": code, "message": message, "status": status, "details": list(details)}
    }


FAULTS: dict[str, tuple[int, Any]] = {
    "rate_limited": _error(
        429,
        "RESOURCE_EXHAUSTED",
        "You exceeded your current quota, please check your plan and billing details.",
        {"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "0.4s"},
    ),
    "invalid_key": _error(
        400,
        "INVALID_ARGUMENT",
        "API key not valid. Please pass a valid API key.",
        {
            "@type": "type.googleapis.com/google.rpc.ErrorInfo",
            "reason": "API_KEY_INVALID",
            "domain": "googleapis.com",
        },
    ),
    "permission_denied": _error(
        403, "PERMISSION_DENIED", "Your API key was reported as leaked. Please use another API key."
    ),
    "internal": _error(500, "INTERNAL", "An internal error has occurred."),
    "unavailable": _error(503, "UNAVAILABLE", "The model is overloaded. Please try again later."),
    "safety": (
        200,
        {
            "promptFeedback": {
                "blockReason": "SAFETY",
                "safetyRatings": [
                    {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "probability": "HIGH"}
                ],
            },
            "usageMetadata": {"promptTokenCount": 21, "totalTokenCount": 21},
        },
    ),
    "malformed_call": (
        200,
        {
            "candidates": [{"content": {}, "finishReason": "MALFORMED_FUNCTION_CALL", "index": 0}],
            "usageMetadata": {"promptTokenCount": 21, "totalTokenCount": 21},
        },
    ),
}


class _Handler(JSONHandler):
    server: GeminiDouble
    content_type = "application/json; charset=UTF-8"

    def do_POST(self) -> None:
        body = self.read_json()
        server = self.server
        with server.lock:
            server.requests.append({"path": self.path, "headers": dict(self.headers), **body})
            fault = server.faults.pop(0) if server.faults else None
        if fault is not None:
            self.send_json(*FAULTS[fault])
            return
        if not re.fullmatch(r"/v1(beta)?/models/[\w.-]+:generateContent", self.path):
            self.send_json(*_error(404, "NOT_FOUND", f"{self.path} is not found."))
            return
        schema = body.get("generationConfig", {}).get("responseJsonSchema") or {}
        text = json.dumps(instance_for(schema))
        candidate = {
            "content": {"parts": [{"text": text}], "role": "model"},
            "finishReason": "STOP",
            "index": 0,
        }
        self.send_json(
            200,
            {"candidates": [candidate], "usageMetadata": USAGE, "modelVersion": "gemini-double"},
        )


class GeminiDouble(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.lock = threading.Lock()
        self.requests: list[dict[str, Any]] = []
        self.faults: list[str] = []

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


def gemini_double() -> AbstractContextManager[GeminiDouble]:
    return serving(GeminiDouble())
