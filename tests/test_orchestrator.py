"""The facade on a function-driven chat model: flow, metadata, retries, errors."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.testing import FunctionModel, manager_for, sequence
from backend.llm.types import LLMRequest, LLMResponse
from tests.api_support import VALID

PILLAR = {"name": "Core Mechanic", "description": "Players solve puzzles"}


def orchestrator(*answers, delay_s=0.0, **config):
    model = FunctionModel(function=sequence(*answers), delay_s=delay_s)
    return LLMOrchestrator(model_manager=manager_for(model, **config)), model


def validate(**overrides):
    return LLMRequest(feature="pillars", operation="validate", data=PILLAR, **overrides)


def test_execute_returns_schema_valid_results_and_metadata():
    orch, model = orchestrator(VALID)
    response = orch.execute(validate())
    assert isinstance(response, LLMResponse)
    assert response.results == VALID
    meta = response.metadata
    assert meta.operation == "pillars.validate"
    assert meta.execution_mode == "monolithic"
    assert meta.models_used == ["test:default"]
    assert meta.requested_model == "test:default"
    assert meta.execution_time_ms >= 0
    assert (
        meta.token_usage.total_tokens
        == meta.token_usage.input_tokens + meta.token_usage.output_tokens
        > 0
    )
    assert [n.node for n in meta.nodes] == ["generate"]
    assert meta.nodes[0].attempts == 1
    assert set(meta.node_timings) == {"generate"}
    assert len(meta.run_id) == 36
    # The prompt carries the pillar.
    (call,) = model.calls
    assert "Players solve puzzles" in call.messages[-1].text


def test_aexecute_matches_execute():
    orch, _ = orchestrator(VALID)
    response = asyncio.run(orch.aexecute(validate()))
    assert response.results == VALID
    assert response.metadata.models_used == ["test:default"]


def test_execute_accepts_a_plain_mapping():
    orch, _ = orchestrator(VALID)
    response = orch.execute({"feature": "pillars", "operation": "validate", "data": PILLAR})
    assert response.results["is_valid"] is True


def test_invalid_output_is_retried_once_with_feedback_and_tokens_are_summed():
    orch, model = orchestrator({"is_valid": "maybe"}, VALID)
    response = orch.execute(validate())
    assert response.results == VALID
    assert response.metadata.nodes[0].attempts == 2
    assert len(model.calls) == 2
    assert "invalid" in model.calls[1].messages[-1].text
    single = orchestrator(VALID)[0].execute(validate()).metadata.token_usage.input_tokens
    assert response.metadata.token_usage.input_tokens == 2 * single


def test_output_still_invalid_after_retry_is_a_provider_error():
    orch, model = orchestrator("not json at all")
    with pytest.raises(exceptions.ProviderError) as info:
        orch.execute(validate())
    assert len(model.calls) == 2
    assert info.value.context["schema"] == "PillarValidation"
    assert info.value.context["run_id"]


def test_out_of_range_values_fail_the_schema():
    orch, _ = orchestrator({**VALID, "score": 250})
    with pytest.raises(exceptions.ProviderError) as info:
        orch.execute(validate())
    assert info.value.context["errors"][0]["field"] == "score"


def test_output_retries_option_is_respected():
    orch, model = orchestrator("nope")
    with pytest.raises(exceptions.ProviderError):
        orch.execute(validate(options={"output_retries": 0}))
    assert len(model.calls) == 1


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        (httpx.ConnectError("refused"), exceptions.ModelUnavailableError),
        (httpx.ReadTimeout("slow"), exceptions.TimeoutError),
        (ConnectionError("no route"), exceptions.ModelUnavailableError),
    ],
)
def test_provider_failures_become_typed_errors(raised, expected):
    orch, _ = orchestrator(raised)
    with pytest.raises(expected):
        orch.execute(validate())
    with pytest.raises(expected):
        asyncio.run(orch.aexecute(validate()))


def test_async_deadline_is_a_timeout_error():
    orch, _ = orchestrator(VALID, delay_s=2.0)
    with pytest.raises(exceptions.TimeoutError) as info:
        asyncio.run(orch.aexecute(validate(timeout_ms=100)))
    assert info.value.context["timeout_ms"] == 100


def test_sync_deadline_stops_retrying():
    orch, model = orchestrator("bad json", delay_s=0.15)
    with pytest.raises(exceptions.TimeoutError):
        orch.execute(validate(timeout_ms=100, options={"output_retries": 3}))
    assert len(model.calls) == 1


def test_unknown_feature_lists_known_features():
    orch, _ = orchestrator(VALID)
    with pytest.raises(exceptions.UnknownFeatureError) as info:
        orch.execute(LLMRequest(feature="sparc", operation="validate", data={}))
    assert "pillars" in info.value.context["known_features"]


def test_unknown_operation_lists_the_features_operations():
    orch, _ = orchestrator(VALID)
    with pytest.raises(exceptions.UnknownOperationError) as info:
        orch.execute(LLMRequest(feature="pillars", operation="summarise", data={}))
    assert "validate" in info.value.context["known_operations"]
    assert "evaluate_context" in (info.value.suggestion or "")


def test_unknown_mode_is_invalid_request():
    orch, _ = orchestrator(VALID)
    with pytest.raises(exceptions.InvalidRequestError) as info:
        orch.execute(validate(execution_mode="turbo"))
    assert info.value.context["known_modes"] == ["monolithic", "agentic"]


def test_unknown_model_is_invalid_request_listing_aliases():
    orch, model = orchestrator(VALID)
    with pytest.raises(exceptions.InvalidRequestError) as info:
        orch.execute(validate(model_id="claude"))
    assert "local" in info.value.context["known_aliases"]
    assert model.calls == []


def test_cloud_model_without_key_fails_before_any_call():
    orch, model = orchestrator(VALID)
    with pytest.raises(exceptions.AuthenticationError) as info:
        orch.execute(validate(model_id="gemini"))
    assert "GEMINI_API_KEY" in info.value.message
    assert model.calls == []


def test_oversized_data_is_a_validation_error():
    orch, model = orchestrator(VALID, max_input_chars=200)
    with pytest.raises(exceptions.ValidationError) as info:
        orch.execute(
            validate(options={}).model_copy(update={"data": {**PILLAR, "description": "x" * 500}})
        )
    assert info.value.context["limit"] == 200
    assert model.calls == []


def test_request_parse_turns_pydantic_errors_into_validation_error():
    with pytest.raises(exceptions.ValidationError) as info:
        LLMRequest.parse({"feature": "", "operation": 3, "data": "x", "surprise": 1})
    fields = {e["field"] for e in info.value.context["errors"]}
    assert {"feature", "operation", "data", "surprise"} <= fields


def test_listeners_see_successes_and_failures():
    seen = []
    orch = LLMOrchestrator(
        model_manager=manager_for(FunctionModel(function=sequence(VALID))),
        listeners=[lambda req, run_id, out: seen.append((run_id, out))],
    )
    response = orch.execute(validate())
    with pytest.raises(exceptions.UnknownFeatureError) as info:
        orch.execute(LLMRequest(feature="nope", operation="x"))
    assert seen[0] == (response.metadata.run_id, response)
    assert seen[1][1] is info.value
    assert info.value.context["run_id"] == seen[1][0]


def test_unexpected_bug_in_a_handler_is_an_agent_failure(monkeypatch):
    from backend.pillars.llm.handlers import ValidatePillarHandler

    def broken(self, data):
        raise KeyError("oops")

    monkeypatch.setattr(ValidatePillarHandler, "build_prompt", broken)
    orch, _ = orchestrator(VALID)
    with pytest.raises(exceptions.AgentFailureError) as info:
        orch.execute(validate())
    assert info.value.context["cause"] == "KeyError"


def test_metadata_reports_temperature_and_token_cap_reach_the_model():
    orch, _ = orchestrator(VALID)
    orch.execute(validate(options={"temperature": 0.9, "max_output_tokens": 77}))
    provider = orch.model_manager.provider("test")
    (settings,) = {key[2] for key in provider.models.blocking_keys() if key[0] == "chat"}
    assert settings.temperature == 0.9
    assert settings.max_tokens == 77


def _cut_off():
    import openai

    error = openai.LengthFinishReasonError.__new__(openai.LengthFinishReasonError)
    Exception.__init__(error, "Could not parse response content as the length limit was reached")
    return error


def test_answer_cut_off_at_the_length_limit_is_asked_again_briefly():
    orch, model = orchestrator(_cut_off(), VALID)
    response = orch.execute(validate())
    assert response.results == VALID
    assert "more briefly" in model.calls[1].messages[-1].text


def test_answer_cut_off_twice_is_insufficient_resources():
    orch, model = orchestrator(_cut_off())
    with pytest.raises(exceptions.InsufficientResourcesError):
        orch.execute(validate())
    assert len(model.calls) == 2


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"name": "lone \ud800 x", "description": "d"}, "lone surrogate"),
        ({"name": "nul \x00 x", "description": "d"}, "NUL"),
        (
            {"name": "n", "description": "d", "deep": [[[[[[[[[[[[[[[[[[["x"]]]]]]]]]]]]]]]]]]]},
            "deeper",
        ),
    ],
)
def test_data_that_cannot_be_stored_is_rejected_before_anything_runs(data, problem):
    orch, model = orchestrator(VALID)
    with pytest.raises(exceptions.ValidationError, match=problem):
        orch.execute({"feature": "pillars", "operation": "validate", "data": data})
    assert model.calls == []
