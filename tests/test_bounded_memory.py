"""A long-lived process stays the same size whatever its callers send: the per-loop hooks
go with their loops, the model cache is bounded (least recently used out), and an evicted
model's HTTP clients are closed once nothing uses it."""

from __future__ import annotations

import asyncio
import gc
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from rest_framework.authtoken.models import Token

from backend.llm import LLMOrchestrator, _loops
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from backend.llm.providers._clients import MAX_CACHED_MODELS
from backend.llm.testing import FunctionModel, instance_for, manager_for
from backend.llm.types import LLMRequest
from tests.loopback_openai import LoopbackServer, loopback_openai

PILLAR = {"name": "Core", "description": "Puzzles"}


def _request(index: int, **fields: Any) -> LLMRequest:
    """A request whose deadline and sampling differ from every other one's."""
    return LLMRequest(
        feature="pillars",
        operation="validate",
        data=PILLAR,
        timeout_ms=10_000 + index,
        options={"max_attempts": 1, "temperature": round((index % 997) / 997, 4)},
        **fields,
    )


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


@pytest.fixture
def server() -> Iterator[LoopbackServer]:
    with loopback_openai() as running:
        yield running


def test_two_thousand_event_loops_leave_no_hook_and_a_bounded_cache():
    model = FunctionModel(function=lambda call: instance_for(call.schema or {}))
    orchestrator = LLMOrchestrator(model_manager=manager_for(model))
    provider = orchestrator.model_manager.provider("test")
    for index in range(2000):
        asyncio.run(orchestrator.aexecute(_request(index)))
    gc.collect()
    assert len(_loops._hooks) == 0
    assert len(provider.models) == 0  # every loop's models went with the loop
    assert len(model.calls) == 2000


def test_varied_sampling_in_one_event_loop_keeps_a_bounded_cache_and_closes_evicted_clients(
    server,
):
    manager = ModelManager(Config(providers={"openai": {"base_url": server.base_url}}))
    orchestrator = LLMOrchestrator(model_manager=manager)
    provider = manager.provider("openai")

    async def many() -> tuple[int, int]:
        for index in range(3 * MAX_CACHED_MODELS):
            await orchestrator.aexecute(_request(index, model_id="openai:loopback"))
        gc.collect()
        await asyncio.sleep(0.2)  # evicted clients close in the loop
        return len(provider.models), provider.models.open_clients()

    fds = _open_fds()
    cached, open_clients = asyncio.run(many())
    # A chat model and its schema binding per sampling setting, at most this many each.
    assert cached <= MAX_CACHED_MODELS
    assert open_clients <= MAX_CACHED_MODELS
    assert _open_fds() <= fds + 5
    assert len(server.requests) == 3 * MAX_CACHED_MODELS


def test_varied_sampling_without_a_loop_keeps_a_bounded_cache(server):
    manager = ModelManager(Config(providers={"openai": {"base_url": server.base_url}}))
    orchestrator = LLMOrchestrator(model_manager=manager)
    provider = manager.provider("openai")
    fds = None
    for index in range(4 * MAX_CACHED_MODELS):
        orchestrator.execute(_request(index, model_id="openai:loopback"))
        if index == MAX_CACHED_MODELS:
            fds = _open_fds()
    assert len(provider.models) <= MAX_CACHED_MODELS
    assert fds is not None
    assert _open_fds() <= fds + 5


def test_an_evicted_blocking_client_is_closed_once_its_model_is_garbage():
    from backend.llm.providers._clients import ModelCache

    closed: list[str] = []

    class Client:
        def __init__(self, name: str) -> None:
            self.name = name

        def close(self) -> None:
            closed.append(self.name)

    class Model:
        def __init__(self, client: Client) -> None:
            self.client = client

    cache = ModelCache(size=2)
    in_use = cache.get("a", lambda: Model(cache.opened(Client("a"))), None)
    cache.get("b", lambda: Model(cache.opened(Client("b"))), None)
    cache.get("c", lambda: Model(cache.opened(Client("c"))), None)  # evicts "a"
    cache.get("d", lambda: Model(cache.opened(Client("d"))), None)  # evicts "b"
    gc.collect()
    assert closed == ["b"]  # "a" is still in use by a caller
    del in_use
    gc.collect()
    assert sorted(closed) == ["a", "b"]
    cache.close()
    assert sorted(closed) == ["a", "b", "c", "d"]


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_three_hundred_api_requests_with_varied_deadlines_and_sampling_leave_a_worker_flat(
    server,
):
    """The REST API under gunicorn (the shipped config, one worker): every request has its
    own ``timeout_ms`` and temperature, as any client may send. The worker's open files
    stay flat, and its requests do not slow down."""
    from tests.test_api import make_user
    from tests.test_multiprocess_api import post, stop_servers, web_servers

    token = Token.objects.create(user=make_user("varied")).key
    started: list[Any] = []
    try:
        (url,) = web_servers(
            started,
            1,
            OPENAI_BASE_URL=server.base_url,
            API_RATE_LLM_EXECUTE="100000/min",
            API_RATE_USER="100000/min",
        )
        body = {"feature": "pillars", "operation": "validate", "data": PILLAR}

        def send(index: int) -> int:
            request = _request(index, model_id="openai:loopback").model_dump(mode="json")
            status, _ = post(url, token, {**body, **request})
            return status

        for index in range(50):  # warm up: the worker's first requests build what it keeps
            assert send(index) == 200
        worker = _gunicorn_worker(started[0].pid)
        fds = _fds_of(worker)
        statuses = [send(index) for index in range(50, 350)]
        assert statuses == [200] * 300
        assert _fds_of(worker) <= fds + 10
    finally:
        stop_servers(started)


def _gunicorn_worker(master: int) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        children = Path(f"/proc/{master}/task/{master}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.1)
    raise AssertionError("gunicorn started no worker")


def _fds_of(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_gunicorn_replaces_a_worker_after_its_max_requests_without_failing_one():
    from tests.test_api import EXECUTE, make_user
    from tests.test_multiprocess_api import post, stop_servers, web_servers

    token = Token.objects.create(user=make_user("recycled")).key
    started: list[Any] = []
    try:
        (url,) = web_servers(
            started, 1, GUNICORN_MAX_REQUESTS="20", API_RATE_LLM_EXECUTE="100000/min"
        )
        first = _gunicorn_worker(started[0].pid)
        statuses = [post(url, token, EXECUTE)[0] for _ in range(60)]
        assert statuses == [200] * 60
        assert _gunicorn_worker(started[0].pid) != first
    finally:
        stop_servers(started)


def test_a_model_built_for_a_loop_closes_its_blocking_and_async_clients_with_it():
    """Ollama's model opens a blocking transport and an async one: at the loop's end
    each is closed its own way (an async ``aclose`` on a blocking client would fail and
    leave the rest open)."""
    from backend.llm.providers._clients import ModelCache

    closed: list[str] = []

    class Blocking:
        def close(self) -> None:
            closed.append("blocking")

    class Async:
        async def aclose(self) -> None:
            closed.append("async")

    class Model:
        pass

    cache = ModelCache()

    async def build_and_end() -> None:
        loop = asyncio.get_running_loop()

        def model() -> object:
            cache.opened(Blocking())
            cache.opened(Async(), is_async=True)
            return Model()

        cache.get("ollama", model, loop)
        await cache.aclose_loop(loop)

    asyncio.run(build_and_end())
    assert sorted(closed) == ["async", "blocking"]
