"""Every event loop gets its own HTTP clients, closed with the loop: any number of
``asyncio.run(aexecute(...))`` calls in one process succeed (a script, a notebook, an
experiment runner), over real HTTP with keep-alive."""

from __future__ import annotations

import asyncio
import gc
import warnings

import pytest

from backend.llm import LLMOrchestrator
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from backend.llm.types import LLMRequest
from tests.loopback_openai import loopback_openai

REQUEST = LLMRequest(
    feature="pillars",
    operation="validate",
    data={"name": "Core", "description": "Puzzles"},
    model_id="openai:loopback",
    options={"max_attempts": 1},  # a failure must show, not be retried away
)


def test_fifty_asyncio_runs_in_one_process_over_keep_alive_http():
    with loopback_openai() as server, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ResourceWarning)
        manager = ModelManager(Config(providers={"openai": {"base_url": server.base_url}}))
        orchestrator = LLMOrchestrator(model_manager=manager)
        outcomes = [asyncio.run(orchestrator.aexecute(REQUEST)) for _ in range(50)]
        gc.collect()
    assert len(outcomes) == 50
    assert all(o.metadata.models_used == ["openai:loopback"] for o in outcomes)
    assert len(server.requests) == 50
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_sync_and_async_calls_mix_in_one_process():
    with loopback_openai() as server:
        manager = ModelManager(Config(providers={"openai": {"base_url": server.base_url}}))
        orchestrator = LLMOrchestrator(model_manager=manager)
        for _ in range(5):
            orchestrator.execute(REQUEST)
            asyncio.run(orchestrator.aexecute(REQUEST))
        assert len(server.requests) == 10


@pytest.mark.embedded
def test_repeated_asyncio_runs_on_the_embedded_model():
    orchestrator = LLMOrchestrator()
    local = REQUEST.model_copy(update={"model_id": "local"})
    for _ in range(3):  # each loop builds (and closes) its own client of the one server
        response = asyncio.run(orchestrator.aexecute(local))
        assert response.metadata.models_used[0].startswith("local:")
