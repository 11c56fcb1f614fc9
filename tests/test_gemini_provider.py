"""The Gemini provider over real HTTP: the real ``langchain-google-genai`` client (and
the ``google-genai`` SDK under it) against Gemini REST exchanges served on loopback
(``tests/loopback_gemini.py``, written from the public API reference)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from backend.llm.testing import TestModel, manager_for
from backend.llm.types import LLMRequest
from backend.pillars.llm.examples import PILLAR
from tests.loopback_gemini import USAGE, GeminiDouble, gemini_double
from tests.loopback_openai import execute_by

KEY = "AIzaSy-loopback-canary-0123456789abcdef"
MODEL = "gemini:gemini-2.5-flash"


@pytest.fixture(scope="module")
def double() -> Iterator[GeminiDouble]:
    with gemini_double() as server:
        yield server


@pytest.fixture
def gemini(double: GeminiDouble) -> Iterator[GeminiDouble]:
    double.faults.clear()
    double.requests.clear()
    yield double
    double.faults.clear()


def orchestrator(server: GeminiDouble) -> LLMOrchestrator:
    config = Config(
        retry_initial_backoff_s=0.05,
        retry_max_backoff_s=0.1,
        providers={"gemini": {"base_url": server.base_url, "api_key": KEY}},
    )
    return LLMOrchestrator(model_manager=ModelManager(config))


def validate(**fields: object) -> LLMRequest:
    return LLMRequest(
        feature="pillars", operation="validate", data=PILLAR, model_id=MODEL, **fields
    )


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_structured_output_is_asked_as_a_json_schema_and_usage_is_read(gemini, run):
    response = execute_by(run, orchestrator(gemini), validate())
    config = gemini.requests[-1]["generationConfig"]
    assert config["responseMimeType"] == "application/json"
    assert config["responseJsonSchema"]["title"] == "PillarValidation"
    assert "tools" not in gemini.requests[-1]  # no function calling
    usage = response.metadata.token_usage
    assert (usage.input_tokens, usage.output_tokens) == (
        USAGE["promptTokenCount"],
        USAGE["candidatesTokenCount"],
    )
    assert response.metadata.cost_usd is not None
    assert response.metadata.cost_usd > 0
    assert gemini.requests[-1]["headers"]["x-goog-api-key"] == KEY


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_429_waits_the_retry_info_delay_then_succeeds(gemini, run):
    gemini.faults.append("rate_limited")
    (node,) = execute_by(run, orchestrator(gemini), validate()).metadata.nodes
    assert node.attempts == 2
    assert node.retry_log[0]["error"] == "rate_limit_exceeded"
    assert node.retry_log[0]["wait_s"] == pytest.approx(0.4)  # RetryInfo.retryDelay "0.4s"


@pytest.mark.parametrize(
    ("fault", "code"), [("internal", "provider_error"), ("unavailable", "model_unavailable")]
)
def test_server_errors_are_retried(gemini, fault, code):
    gemini.faults.append(fault)
    (node,) = orchestrator(gemini).execute(validate()).metadata.nodes
    assert node.attempts == 2
    assert node.retry_log[0]["error"] == code


@pytest.mark.parametrize(
    ("fault", "error"),
    [
        ("invalid_key", exceptions.AuthenticationError),
        ("permission_denied", exceptions.PermissionDeniedError),
    ],
)
def test_credential_errors_are_typed_not_retried_and_do_not_leak_the_key(gemini, fault, error):
    gemini.faults.append(fault)
    with pytest.raises(error) as info:
        orchestrator(gemini).execute(validate())
    assert len(gemini.requests) == 1
    assert KEY not in str(info.value.to_dict())
    assert info.value.context["provider"] == "gemini"


def test_a_safety_block_is_a_typed_error_and_not_asked_again(gemini):
    gemini.faults.append("safety")
    with pytest.raises(exceptions.ProviderError) as info:
        orchestrator(gemini).execute(validate())
    assert info.value.context["blocked_reason"] == "SAFETY"
    assert len(gemini.requests) == 1


def test_malformed_function_call_is_a_schema_failure_that_gets_the_repair_retry(gemini):
    gemini.faults.append("malformed_call")
    (node,) = orchestrator(gemini).execute(validate()).metadata.nodes
    assert node.attempts == 2  # the repair request ...
    assert node.retries == 0  # ... is not a retry of a failed call
    assert len(gemini.requests) == 2
    repair = gemini.requests[-1]["contents"][-1]["parts"][0]["text"]
    assert "invalid" in repair


def test_a_failing_gemini_falls_back_along_the_configured_chain(gemini):
    gemini.faults.extend(["unavailable"] * 10)
    manager = manager_for(
        TestModel(),
        retry_initial_backoff_s=0.01,
        retry_max_backoff_s=0.02,
        max_attempts=2,
        fallbacks={MODEL: ["test:default"]},
        providers={"gemini": {"base_url": gemini.base_url, "api_key": KEY}},
    )
    response = LLMOrchestrator(model_manager=manager).execute(validate())
    assert response.metadata.models_used == ["test:default"]
    (skipped,) = response.metadata.fallbacks
    assert skipped["model"] == MODEL
    assert skipped["error"]["code"] == "model_unavailable"
    assert len(gemini.requests) == 2


def test_one_event_loop_after_another(gemini):
    # A script or notebook calling asyncio.run(aexecute(...)) again and again: every
    # loop gets its own clients, closed with it (no "Event loop is closed").
    orch = orchestrator(gemini)
    for _ in range(20):
        response = asyncio.run(orch.aexecute(validate()))
        assert response.metadata.models_used == [MODEL]
