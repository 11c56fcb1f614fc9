"""The Ollama provider over real HTTP: ``ChatOllama`` and the ``ollama`` client against a
test double of Ollama's API backed by the embedded model (``tests/loopback_ollama.py``),
faults included. With ``OLLAMA_BASE_URL`` pointing at a real Ollama, ``pytest -m
real_ollama`` runs the same round trips against it (model: ``OLLAMA_TEST_MODEL``)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import ollama
import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from backend.llm.types import LLMRequest, LLMResponse
from backend.pillars.llm.examples import PILLAR
from tests.loopback_ollama import MODEL, OllamaDouble, ollama_double
from tests.loopback_openai import execute_by

pytestmark = pytest.mark.embedded

# Read before the test-wide fixture clears vendor variables.
REAL_OLLAMA_URL = os.environ.get("OLLAMA_BASE_URL")
REAL_OLLAMA_MODEL = os.environ.get("OLLAMA_TEST_MODEL", "llama3.2")


@dataclass
class Ollama:
    base_url: str
    model: str
    double: OllamaDouble | None

    def orchestrator(self, **config: object) -> LLMOrchestrator:
        settings = Config(
            retry_initial_backoff_s=0.05,
            retry_max_backoff_s=0.1,
            providers={"ollama": {"base_url": self.base_url}},
            **config,  # type: ignore[arg-type]
        )
        return LLMOrchestrator(model_manager=ModelManager(settings))

    def request(self, **fields: Any) -> LLMRequest:
        fields.setdefault("model_id", f"ollama:{self.model}")
        return LLMRequest(feature="pillars", operation="validate", data=PILLAR, **fields)


@pytest.fixture(scope="module")
def double() -> Iterator[OllamaDouble]:
    embedded = ModelManager(Config()).resolve("local").provider
    embedded.prepare()
    upstream, key = embedded.endpoint()  # type: ignore[attr-defined]
    with ollama_double(upstream, key) as server:
        yield server


@pytest.fixture(
    params=["double", pytest.param("real", marks=pytest.mark.real_ollama)], scope="module"
)
def ollama_server(request: pytest.FixtureRequest) -> Ollama:
    if request.param == "real":
        if not REAL_OLLAMA_URL:
            pytest.skip("opt-in: set OLLAMA_BASE_URL to a running Ollama")
        return Ollama(REAL_OLLAMA_URL, REAL_OLLAMA_MODEL, None)
    return Ollama(
        request.getfixturevalue("double").base_url, MODEL, request.getfixturevalue("double")
    )


@pytest.fixture
def fresh_double(double: OllamaDouble) -> Iterator[Ollama]:
    double.faults.clear()
    double.requests.clear()
    double.delay_s = 0.0
    yield Ollama(double.base_url, MODEL, double)
    double.faults.clear()
    double.delay_s = 0.0


def test_validate_through_chat_ollama_streams_with_the_schema_as_format(ollama_server):
    response = ollama_server.orchestrator().execute(ollama_server.request())
    assert response.metadata.models_used == [f"ollama:{ollama_server.model}"]
    assert 0 <= response.results["score"] <= 100
    assert response.metadata.token_usage.input_tokens > 0
    assert response.metadata.token_usage.output_tokens > 0
    if ollama_server.double is not None:
        chat = [r for r in ollama_server.double.requests if r["path"] == "/api/chat"][-1]
        assert chat["stream"] is True  # NDJSON chunks, aggregated by ChatOllama
        assert chat["format"]["type"] == "object"  # structured output as Ollama's format
        assert "score" in chat["format"]["properties"]


def test_aexecute_through_the_async_client(ollama_server):
    orchestrator = ollama_server.orchestrator()

    async def twice() -> list[LLMResponse]:
        return await asyncio.gather(  # type: ignore[no-any-return]
            orchestrator.aexecute(ollama_server.request()),
            orchestrator.aexecute(ollama_server.request()),
        )

    for response in asyncio.run(twice()):
        assert response.metadata.models_used == [f"ollama:{ollama_server.model}"]


def test_the_double_speaks_the_api_the_ollama_client_parses(fresh_double):
    with ollama.Client(host=fresh_double.base_url) as client:
        assert [m.model for m in client.list().models] == [MODEL]
        assert client.show(MODEL).details.quantization_level == "Q4_1"
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        answer = client.chat(
            MODEL,
            messages=[{"role": "user", "content": "Reply with a JSON object."}],
            format=schema,
            stream=False,
            options={"num_predict": 32},
        )
    assert answer.done
    assert isinstance(answer.message.content, str)


@pytest.mark.parametrize("status", [429, 500, 503])
def test_transient_errors_are_retried_and_counted(fresh_double, status):
    fresh_double.double.faults.append((status, {}))
    response = fresh_double.orchestrator().execute(fresh_double.request())
    (node,) = response.metadata.nodes
    assert node.attempts == 2
    assert node.retries == 1


def test_a_dropped_connection_is_retried(fresh_double):
    fresh_double.double.faults.append("drop")
    response = fresh_double.orchestrator().execute(fresh_double.request())
    assert response.metadata.nodes[0].attempts == 2


def test_a_model_that_is_not_pulled_is_unavailable_with_a_hint(fresh_double):
    request = fresh_double.request(model_id="ollama:not-pulled")
    with pytest.raises(exceptions.ModelUnavailableError) as info:
        fresh_double.orchestrator().execute(request)
    assert "ollama pull" in (info.value.suggestion or "")
    assert len(fresh_double.double.requests) == 1  # not retried: it will not appear


@pytest.mark.parametrize("run", ["execute", "aexecute"])
def test_the_run_deadline_ends_a_slow_ollama_call(fresh_double, run):
    fresh_double.double.delay_s = 6.0
    request = fresh_double.request(timeout_ms=1500)
    orchestrator = fresh_double.orchestrator()
    started = time.monotonic()
    with pytest.raises(exceptions.TimeoutError):
        execute_by(run, orchestrator, request)
    assert time.monotonic() - started < 4.5


def test_a_failing_ollama_falls_back_to_the_embedded_model(fresh_double):
    fresh_double.double.faults.extend([(503, {})] * 10)
    response = fresh_double.orchestrator().execute(
        fresh_double.request(options={"max_attempts": 2, "fallback_models": ["local"]})
    )
    assert response.metadata.models_used[0].startswith("local:")
    assert response.metadata.fallbacks[0]["model"] == f"ollama:{MODEL}"
