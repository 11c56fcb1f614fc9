"""The ``ollama`` client's blocking transport, bounded by each call's deadline (imported
with the client, on first use: httpx pulls in its command line and ``rich``)."""

from __future__ import annotations

import contextvars
import time

import httpx

__all__ = ["CALL_DEADLINE", "DeadlineTransport"]

#: When the blocking call in progress on this thread must end (``time.monotonic()``).
CALL_DEADLINE: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "ollama_call_deadline", default=None
)


class DeadlineTransport(httpx.HTTPTransport):
    """Caps each request's timeouts at the time left before the call's deadline: the
    ``ollama`` client takes no timeout per call, only one for its whole client."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = CALL_DEADLINE.get()
        if deadline is not None:
            left = max(deadline - time.monotonic(), 0.001)
            timeouts = request.extensions.get("timeout", {})
            request.extensions["timeout"] = {
                phase: left if limit is None else min(limit, left)
                for phase, limit in {
                    "connect": None,
                    "read": None,
                    "write": None,
                    "pool": None,
                    **timeouts,
                }.items()
            }
        return super().handle_request(request)
