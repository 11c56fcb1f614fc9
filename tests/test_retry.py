"""One retry policy, ours and visible: transient errors are retried in the node with
backoff or the provider's Retry-After, never past the run's deadline, and logged."""

from __future__ import annotations

import asyncio
import email.utils
import time

import httpx
import httpx2
import openai
import pytest
from google.genai import errors as genai_errors

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.providers import ModelSettings
from backend.llm.providers.openai_provider import OpenAIProvider
from backend.llm.retry import MAX_RETRY_AFTER_S, Retrying, RetryPolicy, retry_after_s
from backend.llm.testing import FunctionModel, manager_for, sequence
from backend.llm.types import LLMRequest
from tests.api_support import VALID

PILLAR = {"name": "Core", "description": "Puzzles"}


def rate_limited(headers: dict[str, str] | None = None) -> openai.RateLimitError:
    request = httpx2.Request("POST", "http://127.0.0.1/v1/chat/completions")
    response = httpx2.Response(429, headers=headers or {}, request=request)
    return openai.RateLimitError("slow down", response=response, body=None)


def orchestrator(*answers, **config):
    model = FunctionModel(function=sequence(*answers))
    defaults = {"retry_initial_backoff_s": 0.05, "retry_max_backoff_s": 0.1}
    return LLMOrchestrator(model_manager=manager_for(model, **{**defaults, **config})), model


def validate(**fields) -> LLMRequest:
    return LLMRequest(feature="pillars", operation="validate", data=PILLAR, **fields)


def test_retry_after_in_seconds_as_a_date_in_ms_and_from_gemini():
    assert retry_after_s(rate_limited({"Retry-After": "2"})) == 2.0
    assert retry_after_s(rate_limited({"retry-after-ms": "1500"})) == 1.5
    soon = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 <= (retry_after_s(rate_limited({"Retry-After": soon})) or 0) <= 31
    assert retry_after_s(rate_limited()) is None
    body = {
        "error": {
            "code": 429,
            "status": "RESOURCE_EXHAUSTED",
            "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": "12s"}],
        }
    }
    assert retry_after_s(genai_errors.ClientError(429, body)) == 12.0


def test_a_transient_error_is_retried_honouring_retry_after_and_logged():
    orch, model = orchestrator(rate_limited({"Retry-After": "0.3"}), VALID)
    started = time.monotonic()
    response = orch.execute(validate())
    assert time.monotonic() - started >= 0.3
    (node,) = response.metadata.nodes
    assert node.retries == 1
    assert node.attempts == 2
    assert node.retry_log == [{"attempt": 1, "error": "rate_limit_exceeded", "wait_s": 0.3}]
    assert len(model.calls) == 2


def test_monolithic_and_async_runs_retry_alike():
    orch, _ = orchestrator(httpx.ConnectError("refused"), VALID)
    response = asyncio.run(orch.aexecute(validate()))
    assert response.metadata.nodes[0].retries == 1
    assert response.metadata.nodes[0].retry_log[0]["error"] == "model_unavailable"


@pytest.mark.parametrize(
    "error",
    [exceptions.AuthenticationError("bad key"), exceptions.PermissionDeniedError("no")],
)
def test_authentication_and_permission_errors_are_not_retried(error):
    orch, model = orchestrator(error, VALID)
    with pytest.raises(type(error)):
        orch.execute(validate())
    assert len(model.calls) == 1


def test_max_attempts_is_configurable_per_request():
    orch, model = orchestrator(rate_limited(), rate_limited(), VALID)
    with pytest.raises(exceptions.RateLimitError):
        orch.execute(validate(options={"max_attempts": 1}))
    assert len(model.calls) == 1
    orch, model = orchestrator(rate_limited(), rate_limited(), VALID, max_attempts=3)
    assert orch.execute(validate()).metadata.nodes[0].retries == 2


def test_a_wait_past_the_deadline_is_not_taken():
    orch, model = orchestrator(rate_limited({"Retry-After": "30"}), VALID)
    started = time.monotonic()
    with pytest.raises(exceptions.RateLimitError) as info:
        orch.execute(validate(timeout_ms=2000))
    assert time.monotonic() - started < 5  # generous: it must not have slept 30 s
    assert info.value.context["retry_after_s"] == 30.0
    assert len(model.calls) == 1


def test_backoff_has_full_jitter_and_a_ceiling():
    policy = RetryPolicy(max_attempts=10, initial_backoff_s=1.0, max_backoff_s=4.0)
    waits = [policy.backoff_s(retry) for retry in range(6) for _ in range(50)]
    assert all(0 <= wait <= 4.0 for wait in waits)
    assert len(set(waits)) > 100
    retrying = Retrying(policy, deadline=time.monotonic() + 60)
    retrying.next_try()
    assert retrying.wait_after(exceptions.ValidationError("bad")) is None


def test_the_sdks_own_retries_are_off():
    model = OpenAIProvider({"api_key": "sk-test-noretry"}).chat_model(
        "gpt-4o-mini", ModelSettings()
    )
    assert model.max_retries == 0  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "inf"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "1e400"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "nan"}, None),
        ({"Retry-After": "-5"}, 0.0),
        ({"Retry-After": "Fri, 31 Dec 9999 23:59:59 -1400"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, MAX_RETRY_AFTER_S),
        ({"Retry-After": "not a date"}, None),
        ({"retry-after-ms": "inf"}, MAX_RETRY_AFTER_S),
        ({"retry-after-ms": "nan", "Retry-After": "3"}, 3.0),
    ],
)
def test_malformed_retry_after_is_capped_or_ignored_never_infinite(headers, expected):
    """The wait lands in the error's context, stored as JSON: it must be a finite number."""
    assert retry_after_s(rate_limited(headers)) == expected


def test_a_typed_error_from_a_malformed_retry_after_is_strict_json():
    import json

    from backend.llm.providers.openai_provider import OpenAIProvider

    provider = OpenAIProvider()
    error = provider.translate_error(rate_limited({"Retry-After": "1e400"}), model="openai:x")
    assert isinstance(error, exceptions.RateLimitError)
    json.dumps(error.to_dict(), allow_nan=False)  # raises on inf or nan
    assert error.context["retry_after_s"] == MAX_RETRY_AFTER_S
