"""End to end on the real embedded model (llama.cpp in-process, SmolLM2-135M GGUF).

Also tests the OpenAI provider over real HTTP: the embedded server speaks the OpenAI
API, so ``openai:<model>`` with ``OPENAI_BASE_URL`` pointing at it is a real round trip
through ``ChatOpenAI`` and the ``openai`` SDK.
"""

from __future__ import annotations

import asyncio
import socket

import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.config import Config
from backend.llm.handler_registry import get_handler
from backend.llm.providers import LocalProvider, ModelManager
from backend.llm.providers._llama_server import EmbeddedServer
from backend.llm.types import LLMRequest
from backend.pillars.llm.examples import EXAMPLES, PILLAR
from tests.loopback_openai import loopback_openai

pytestmark = pytest.mark.embedded

# The specialists' operations (evaluate_completeness, _contradictions, _context) run on
# the real model in every agentic review: tests/test_studio.py and the experiment's
# mini-run (tests/test_experiment.py), which also runs pillars.evaluate in both modes.
OPERATIONS = {
    op: data for op, data in EXAMPLES.items() if op != "evaluate" and not op.startswith("evaluate_")
}


@pytest.fixture(scope="module")
def local_manager() -> ModelManager:
    manager = ModelManager(Config())
    manager.resolve("local").provider.prepare()
    return manager


@pytest.mark.parametrize("operation", sorted(OPERATIONS))
def test_every_pillar_operation_on_the_embedded_model(local_manager, operation):
    orchestrator = LLMOrchestrator(model_manager=local_manager)
    response = orchestrator.execute(
        LLMRequest(feature="pillars", operation=operation, data=OPERATIONS[operation])
    )
    schema = get_handler(f"pillars.{operation}").response_schema
    assert schema.model_validate(response.results).model_dump(mode="json") == response.results
    meta = response.metadata
    assert meta.operation == f"pillars.{operation}"
    assert meta.models_used == ["local:smollm2-135m-instruct.q4_1"]
    assert meta.requested_model == "local"
    assert meta.token_usage.input_tokens > 0
    assert meta.token_usage.output_tokens > 0
    assert (
        meta.token_usage.total_tokens
        == meta.token_usage.input_tokens + meta.token_usage.output_tokens
    )
    assert 1 <= meta.nodes[0].attempts <= 2
    assert meta.execution_time_ms >= meta.nodes[0].duration_ms // 1 - 1


def test_aexecute_on_the_embedded_model(local_manager):
    orchestrator = LLMOrchestrator(model_manager=local_manager)
    response = asyncio.run(
        orchestrator.aexecute(LLMRequest(feature="pillars", operation="validate", data=PILLAR))
    )
    assert isinstance(response.results["is_valid"], bool)


def test_the_server_listens_on_loopback_and_needs_its_key(local_manager):
    import httpx

    server = _server(local_manager)
    base_url = server.start()
    assert base_url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{base_url}/models", timeout=5).status_code == 401
    authorised = httpx.get(
        f"{base_url}/models", headers={"Authorization": f"Bearer {server.api_key}"}, timeout=5
    )
    assert authorised.status_code == 200


def test_local_is_started_once_per_process(local_manager):
    first = local_manager.resolve("local").provider
    other = ModelManager(Config()).resolve("local").provider
    assert isinstance(first, LocalProvider)
    assert isinstance(other, LocalProvider)
    assert first.server is other.server


def _server(manager: ModelManager) -> EmbeddedServer:
    provider = manager.resolve("local").provider
    assert isinstance(provider, LocalProvider)
    return provider.server


def _openai_manager(local_manager: ModelManager, api_key: str) -> ModelManager:
    server = _server(local_manager)
    config = Config(providers={"openai": {"base_url": server.start(), "api_key": api_key}})
    return ModelManager(config)


def test_openai_provider_over_real_http(local_manager):
    server = _server(local_manager)
    orchestrator = LLMOrchestrator(model_manager=_openai_manager(local_manager, server.api_key))
    # The schema is not bounded for `openai:` models, so the tiny model gets the smallest
    # operation and greedy decoding; what is under test is the HTTP round trip.
    response = orchestrator.execute(
        LLMRequest(
            feature="pillars",
            operation="validate",
            data=PILLAR,
            model_id="openai:smollm2",
            options={"temperature": 0.0, "max_output_tokens": 2048},
        )
    )
    assert response.metadata.models_used == ["openai:smollm2"]
    assert isinstance(response.results["is_valid"], bool)


def test_openai_provider_rejected_key_is_an_authentication_error(local_manager):
    orchestrator = LLMOrchestrator(
        model_manager=_openai_manager(local_manager, "sk-wrong-key-0000")
    )
    with pytest.raises(exceptions.AuthenticationError) as info:
        orchestrator.execute(
            LLMRequest(feature="pillars", operation="validate", data=PILLAR, model_id="openai:x")
        )
    assert info.value.context["provider"] == "openai"
    assert "sk-wrong-key-0000" not in str(info.value.to_dict())


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_unreachable_openai_compatible_server_is_model_unavailable():
    config = Config(providers={"openai": {"base_url": f"http://127.0.0.1:{_closed_port()}/v1"}})
    orchestrator = LLMOrchestrator(model_manager=ModelManager(config))
    with pytest.raises(exceptions.ModelUnavailableError):
        orchestrator.execute(
            LLMRequest(feature="pillars", operation="validate", data=PILLAR, model_id="openai:x")
        )


def test_unreachable_ollama_is_model_unavailable_with_a_hint():
    config = Config(providers={"ollama": {"base_url": f"http://127.0.0.1:{_closed_port()}"}})
    orchestrator = LLMOrchestrator(model_manager=ModelManager(config))
    with pytest.raises(exceptions.ModelUnavailableError) as info:
        orchestrator.execute(
            LLMRequest(feature="pillars", operation="validate", data=PILLAR, model_id="ollama")
        )
    assert "ollama serve" in (info.value.suggestion or "")


# The whole review (pillars.evaluate) in both modes on the real model runs through the
# experiment runner: tests/test_experiment.py::test_a_real_mini_run_on_the_embedded_model.


def test_faults_in_front_of_the_real_model_are_retried_then_it_answers(local_manager):
    # The fault-injecting loopback server in front of the embedded llama.cpp server: 429
    # with Retry-After, then 503, then the real model's answer through the real SDK.
    embedded = _server(local_manager)
    with loopback_openai(upstream=(embedded.start(), embedded.api_key)) as proxy:
        proxy.faults += [(429, {"Retry-After": "0.2"}), (503, {})]
        config = Config(
            retry_initial_backoff_s=0.05,
            providers={"openai": {"base_url": proxy.base_url, "api_key": "sk-proxy"}},
        )
        response = LLMOrchestrator(model_manager=ModelManager(config)).execute(
            LLMRequest(
                feature="pillars",
                operation="validate",
                data=PILLAR,
                model_id="openai:smollm2",
                options={"temperature": 0.0, "max_output_tokens": 2048},
            )
        )
    (node,) = response.metadata.nodes
    assert [entry["error"] for entry in node.retry_log] == [
        "rate_limit_exceeded",
        "model_unavailable",
    ]
    assert node.retry_log[0]["wait_s"] >= 0.2
    assert isinstance(response.results["is_valid"], bool)
    assert response.metadata.token_usage.output_tokens > 0
