"""The loopback OpenAI-compatible server (``backend.llm.loopback``) and a helper to run a
request through either facade."""

from __future__ import annotations

import asyncio

from backend.llm import LLMOrchestrator
from backend.llm.loopback import LoopbackServer, loopback_openai
from backend.llm.types import LLMRequest, LLMResponse

__all__ = ["LoopbackServer", "execute_by", "loopback_openai"]


def execute_by(run: str, orchestrator: LLMOrchestrator, request: LLMRequest) -> LLMResponse:
    """``orchestrator.execute(request)``, or ``aexecute`` in a fresh event loop."""
    if run == "execute":
        return orchestrator.execute(request)
    return asyncio.run(orchestrator.aexecute(request))
