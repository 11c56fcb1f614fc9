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


def test_a_node_sets_up_in_a_thread_only_until_everything_is_built(monkeypatch):
    """The first call on a loop builds the provider and its model off the loop (that may
    block); later calls on the loop find them built and make no thread hop; a call that
    needs a model not built yet (other settings) goes off the loop again."""
    from backend.llm._threads import off_loop

    hops: list[str] = []

    async def counting(function, *args, **kwargs):
        hops.append(function.__name__)
        return await off_loop(function, *args, **kwargs)

    monkeypatch.setattr("graphs._nodes.off_loop", counting)
    hotter = LLMRequest.model_validate(
        {**REQUEST.model_dump(), "options": {"max_attempts": 1, "temperature": 0.9}}
    )
    with loopback_openai() as server:
        manager = ModelManager(Config(providers={"openai": {"base_url": server.base_url}}))
        orchestrator = LLMOrchestrator(model_manager=manager)
        assert not manager.ready("openai:loopback")

        async def calls() -> list[int]:
            seen = []
            for request in (REQUEST, REQUEST, REQUEST, hotter, hotter):
                await orchestrator.aexecute(request)
                seen.append(len(hops))
            return seen

        # The first call builds the model (its provider is built before the graph runs);
        # after it, only a model not built yet.
        assert asyncio.run(calls()) == [1, 1, 1, 2, 2]
        assert manager.ready("openai:loopback")
        assert len(server.requests) == 5
    assert hops == ["prepare", "prepare"]


def test_a_run_context_is_ready_once_every_model_it_names_is_built():
    from backend.llm.context import RunContext

    manager = ModelManager(Config(providers={"openai": {"base_url": "http://127.0.0.1:9/v1"}}))
    context = RunContext(
        models=manager, model_id="openai:a", agent_models={"contradictions": "local"}
    )
    assert not context.ready()
    manager.resolve("openai:a")
    assert not context.ready()  # the embedded model is neither built nor started
    assert RunContext(models=manager, model_id="openai:b").ready()
