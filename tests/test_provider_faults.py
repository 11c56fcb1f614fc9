"""Faults over real HTTP (loopback OpenAI-compatible server, real SDK client): our retry
policy is the only one, it honours Retry-After, and what happened is in the metadata."""

from __future__ import annotations

import asyncio
import time

import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from backend.llm.testing import FunctionModel, TestProvider
from backend.llm.types import LLMRequest
from tests.api_support import VALID
from tests.loopback_openai import LoopbackServer, execute_by, loopback_openai

PILLAR = {"name": "Core", "description": "Puzzles"}
KEY = "sk-loopback-canary-0123456789"


@pytest.fixture
def server():
    with loopback_openai() as running:
        yield running


def orchestrator(server: LoopbackServer) -> LLMOrchestrator:
    config = Config(
        retry_initial_backoff_s=0.05,
        retry_max_backoff_s=0.1,
        providers={"openai": {"base_url": server.base_url, "api_key": KEY}},
    )
    return LLMOrchestrator(model_manager=ModelManager(config))


def validate(**fields) -> LLMRequest:
    return LLMRequest(
        feature="pillars", operation="validate", data=PILLAR, model_id="openai:loopback", **fields
    )


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_429_with_retry_after_then_503_then_success(server, run):
    server.faults += [(429, {"Retry-After": "0.3"}), (503, {})]
    orch = orchestrator(server)
    started = time.monotonic()
    if run == "execute":
        response = orch.execute(validate())
    else:
        response = asyncio.run(orch.aexecute(validate()))
    assert time.monotonic() - started >= 0.3
    (node,) = response.metadata.nodes
    assert len(server.requests) == 3  # no hidden SDK retries
    assert node.attempts == 3
    assert node.retries == 2
    assert [entry["error"] for entry in node.retry_log] == [
        "rate_limit_exceeded",
        "model_unavailable",
    ]
    assert node.retry_log[0]["wait_s"] >= 0.3


def test_401_is_not_retried_and_the_key_does_not_leak(server):
    server.faults += [(401, {})]
    with pytest.raises(exceptions.AuthenticationError) as info:
        orchestrator(server).execute(validate())
    assert len(server.requests) == 1
    assert KEY not in str(info.value.to_dict())


def test_attempts_stop_at_max_attempts(server):
    server.faults += [(500, {})] * 5
    with pytest.raises(exceptions.ProviderError):
        orchestrator(server).execute(validate(options={"max_attempts": 2}))
    assert len(server.requests) == 2


def test_an_agent_retries_a_transient_failure_and_the_run_is_not_degraded(server):
    server.faults += [(500, {})]
    response = orchestrator(server).execute(
        LLMRequest(
            feature="pillars",
            operation="evaluate",
            execution_mode="agentic",
            model_id="openai:loopback",
            data={"pillars": [PILLAR, {"name": "Speed", "description": "Fast"}]},
            options={"cross_check_rounds": 0},
        )
    )
    assert not response.metadata.degraded
    assert sum(node.retries for node in response.metadata.nodes) == 1


def with_backup(server: LoopbackServer, **config) -> tuple[LLMOrchestrator, FunctionModel]:
    backup = FunctionModel(function=lambda call: VALID)
    settings = Config(
        retry_initial_backoff_s=0.01,
        retry_max_backoff_s=0.02,
        providers={"openai": {"base_url": server.base_url, "api_key": KEY}},
        **config,
    )
    manager = ModelManager(settings, providers={"test": TestProvider(backup)})
    return LLMOrchestrator(model_manager=manager), backup


def test_a_failing_model_falls_back_to_the_next_of_its_configured_chain(server):
    server.faults += [(503, {})] * 3
    orch, backup = with_backup(server, fallbacks={"openai:loopback": ["test:backup"]})
    response = orch.execute(validate())
    assert response.results == VALID
    assert response.metadata.models_used == ["test:backup"]
    assert len(server.requests) == 3  # its retries first, then the fallback
    assert len(backup.calls) == 1
    (skipped,) = response.metadata.fallbacks
    assert skipped["node"] == "generate"
    assert skipped["model"] == "openai:loopback"
    assert skipped["error"]["code"] == "model_unavailable"


def test_fallbacks_per_request_replace_the_configured_chain(server):
    server.faults += [(429, {})] * 3
    orch, _ = with_backup(server, fallbacks={"openai:loopback": ["test:other"]})
    response = asyncio.run(
        orch.aexecute(validate(options={"fallback_models": ["test:backup"], "max_attempts": 1}))
    )
    assert response.metadata.models_used == ["test:backup"]
    assert len(server.requests) == 1
    with pytest.raises(exceptions.RateLimitError):
        orch.execute(validate(options={"fallback_models": [], "max_attempts": 1}))


def test_an_authentication_error_does_not_fall_through_unless_configured(server):
    server.faults += [(401, {})]
    orch, backup = with_backup(server, fallbacks={"openai:loopback": ["test:backup"]})
    with pytest.raises(exceptions.AuthenticationError):
        orch.execute(validate())
    assert backup.calls == []
    server.faults += [(401, {})]
    orch, backup = with_backup(
        server, fallbacks={"openai:loopback": ["test:backup"]}, fallback_on_auth=True
    )
    response = orch.execute(validate())
    assert response.metadata.fallbacks[0]["error"]["code"] == "authentication_error"
    assert KEY not in str(response.metadata.fallbacks)


def test_a_concurrency_cap_keeps_calls_in_flight_under_the_servers_limit(server):
    server.delay_s = 0.05
    server.max_in_flight = 10  # above that the server answers 429
    config = Config(
        max_attempts=1,  # a single 429 would fail a run
        rate_limits={"openai": {"concurrency": 10}},
        providers={"openai": {"base_url": server.base_url, "api_key": KEY}},
    )
    orch = LLMOrchestrator(model_manager=ModelManager(config))

    async def run_all() -> list[object]:
        return await asyncio.gather(
            *(orch.aexecute(validate()) for _ in range(200)), return_exceptions=True
        )

    outcomes = asyncio.run(run_all())
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert failures == []
    assert server.peak_in_flight <= 10
    assert len(server.requests) == 200


def test_a_rate_limit_spaces_requests_and_an_exhausted_quota_is_a_429(server):
    config = Config(
        rate_limits={"openai": {"rps": 20}},
        providers={"openai": {"base_url": server.base_url, "api_key": KEY}},
    )
    orch = LLMOrchestrator(model_manager=ModelManager(config))

    async def run(count: int, **fields) -> list[object]:
        return await asyncio.gather(
            *(orch.aexecute(validate(**fields)) for _ in range(count)), return_exceptions=True
        )

    started = time.monotonic()
    assert not any(isinstance(o, BaseException) for o in asyncio.run(run(30)))
    assert time.monotonic() - started >= 1.2  # 30 calls at 20/s: about 1.5 s
    # 60 calls at 20/s need 3 s: with 1 s to go, most cannot get a turn however loaded
    # the machine is (a shorter deadline could pass before any call reached the limiter).
    squeezed = asyncio.run(run(60, timeout_ms=1000, options={"max_attempts": 1}))
    limited = [o for o in squeezed if isinstance(o, exceptions.RateLimitError)]
    assert limited
    assert limited[0].context["retry_after_s"] == 0.05


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_the_deadline_bounds_the_whole_run_in_execute_and_aexecute(server, run):
    # The upstream takes 6 s; a run given 1.5 s ends with a 504 long before that, in the
    # sync facade too (each attempt gets only the time left, not a fresh HTTP timeout).
    server.delay_s = 6.0
    orch = orchestrator(server)
    request = validate(timeout_ms=1500)
    started = time.monotonic()
    with pytest.raises(exceptions.TimeoutError):
        execute_by(run, orch, request)
    assert time.monotonic() - started < 4.5  # the deadline plus a generous margin
    assert len(server.requests) <= 2


@pytest.mark.parametrize("fault", ["drop", "malformed"])
def test_a_dropped_connection_or_a_malformed_answer_is_retried(server, fault):
    server.faults = [fault]
    response = orchestrator(server).execute(validate())
    assert response.metadata.nodes[0].attempts == 2
    assert len(server.requests) == 2
    assert response.results["score"] is not None


def test_a_slow_answer_is_used_when_it_arrives_before_the_deadline(server):
    server.faults = [("slow", 0.5)]
    response = orchestrator(server).execute(validate(timeout_ms=30_000))
    assert response.metadata.nodes[0].attempts == 1


def _open_fds() -> int:
    import os

    return len(os.listdir("/proc/self/fd"))


def test_a_new_timeout_per_request_builds_no_new_client(server):
    """timeout_ms is a body field any API client sets: a worker must not build (and keep)
    a chat model, an HTTP client and a socket per value. The run's deadline is enforced
    per call instead."""
    orch = orchestrator(server)
    orch.execute(validate(timeout_ms=5_000))
    provider = orch.model_manager.provider("openai")
    models, fds = len(provider.models), _open_fds()
    for index in range(100):
        orch.execute(validate(timeout_ms=10_000 + index))
    assert len(provider.models) == models
    assert _open_fds() <= fds + 5
    # The deadline still holds: a slow answer past a short timeout_ms is a 504.
    server.faults = [("slow", 2.0)]
    with pytest.raises(exceptions.TimeoutError):
        orch.execute(validate(timeout_ms=300))
