"""Agentic mode on function-driven models: parallelism, reducers, failures, overrides."""

from __future__ import annotations

import asyncio

import pytest

from backend.llm import LLMOrchestrator, exceptions
from backend.llm.plans import is_transient
from backend.llm.testing import CallInfo, FunctionModel, manager_for
from backend.llm.types import AgenticMetrics, LLMRequest, LLMResponse
from backend.pillars.llm.schemas import PillarsEvaluation

PILLARS = {
    "pillars": [
        {"name": "Every fight is a puzzle", "description": "Combat rewards planning."},
        {"name": "Fast and frantic", "description": "Players react in split seconds."},
        {"name": "Cozy exploration", "description": "A calm world to wander."},
        {"name": "Permadeath", "description": "Each run starts from scratch."},
    ],
    "context": {"genre": "roguelike", "audience": "core PC players"},
}
ANSWERS = {
    "completeness": {
        "is_complete": False,
        "score": 60,
        "covered_areas": ["core_loop"],
        "missing_areas": [{"area": "progression", "why_it_matters": "runs need goals"}],
        "feedback": "Progression is missing.",
    },
    "contradictions": {
        "has_contradictions": True,
        "contradictions": [
            {
                "pillar_a": "Every fight is a puzzle",
                "pillar_b": "Fast and frantic",
                "explanation": "Planning vs reflexes.",
                "severity": "high",
            },
            {
                "pillar_a": "Cozy exploration",
                "pillar_b": "Permadeath",
                "explanation": "Calm vs loss.",
                "severity": "low",
            },
        ],
        "feedback": "Two tensions.",
    },
    "context": {
        "overall_score": 70,
        "pillars": [{"pillar_name": "Permadeath", "score": 90, "notes": "Fits roguelikes."}],
        "feedback": "Mostly fits.",
    },
    "cross_check": {"dismissed_contradictions": [2], "overall_score": 64, "summary": "Reconciled."},
}


#: Which agent asks, told by the response schema it asks for (never by prompt wording).
AGENT_OF_SCHEMA = {
    "CompletenessEvaluation": "completeness",
    "ContradictionsEvaluation": "contradictions",
    "ContextEvaluation": "context",
    "CrossCheckReview": "cross_check",
}


def agent_of(call: CallInfo) -> str:
    return AGENT_OF_SCHEMA[call.schema_name or ""]


def answer(call: CallInfo):
    return ANSWERS[agent_of(call)]


def orchestrator(
    function=answer, *, delay_s: float = 0.0, **config
) -> tuple[LLMOrchestrator, FunctionModel]:
    model = FunctionModel(function=function, delay_s=delay_s)
    manager = manager_for(model, **{"default_model": "test:m", **config})
    return LLMOrchestrator(model_manager=manager), model


def evaluate(**options) -> LLMRequest:
    return LLMRequest(
        feature="pillars",
        operation="evaluate",
        data=PILLARS,
        execution_mode="agentic",
        options=options,
    )


def agentic_of(response: LLMResponse) -> AgenticMetrics:
    assert response.metadata.agentic is not None
    return response.metadata.agentic


def agents_overlapped(response: LLMResponse) -> bool:
    agents = [n for n in response.metadata.nodes if n.node.startswith("agent:")]
    starts = [n.started_at for n in agents if n.started_at is not None]
    ends = [n.finished_at for n in agents if n.finished_at is not None]
    assert len(starts) == len(ends) == 3
    return max(starts) < min(ends)


def test_agents_merge_into_the_same_schema_as_monolithic():
    orch, _ = orchestrator()
    response = orch.execute(evaluate(cross_check_rounds=0))
    result = PillarsEvaluation.model_validate(response.results)
    assert result.completeness is not None
    assert result.contradictions is not None
    assert result.completeness.score == 60
    assert len(result.contradictions.contradictions) == 2
    assert result.context_alignment is not None
    assert result.context_alignment.overall_score == 70
    # Mean of completeness 60, contradictions 100-25-5=70, context 70.
    assert result.overall_score == 67
    meta = response.metadata
    assert meta.execution_mode == "agentic"
    assert meta.agentic is not None
    assert meta.agentic.plan == "multi_agent"
    assert sorted(meta.agentic.agents) == ["completeness", "context", "contradictions"]
    assert meta.agentic.cross_check_rounds == 0
    assert not meta.degraded
    assert meta.token_usage.total_tokens == sum(n.token_usage.total_tokens for n in meta.nodes)


def test_agents_run_concurrently_under_execute():
    orch, _ = orchestrator(delay_s=0.3)
    response = orch.execute(evaluate(cross_check_rounds=0))
    assert agents_overlapped(response)
    assert agentic_of(response).parallel_phase_ms < 2 * 300


def test_agents_run_concurrently_under_aexecute():
    orch, _ = orchestrator(delay_s=0.3)
    response = asyncio.run(orch.aexecute(evaluate(cross_check_rounds=0)))
    assert agents_overlapped(response)
    assert agentic_of(response).parallel_phase_ms < 2 * 300


def test_cross_check_sees_all_findings_and_reconciles():
    orch, model = orchestrator()
    response = orch.execute(evaluate(cross_check_rounds=1))
    review_prompt = next(c.messages[-1].text for c in model.calls if agent_of(c) == "cross_check")
    assert "Planning vs reflexes" in review_prompt
    assert "progression" in review_prompt
    assert "Mostly fits" in review_prompt
    result = PillarsEvaluation.model_validate(response.results)
    assert result.contradictions is not None
    assert [c.severity for c in result.contradictions.contradictions] == ["high"]
    assert result.overall_score == 64
    assert result.summary == "Reconciled."
    assert agentic_of(response).cross_check_rounds == 1
    assert response.metadata.nodes[-1].node == "cross_check:1"


def test_rounds_are_configurable():
    orch, model = orchestrator(cross_check_rounds=2)
    response = orch.execute(evaluate())
    assert [n.node for n in response.metadata.nodes if n.node.startswith("cross")] == [
        "cross_check:1",
        "cross_check:2",
    ]
    assert sum(agent_of(c) == "cross_check" for c in model.calls) == 2


def test_one_failing_agent_gives_a_degraded_result():
    def failing_contradictions(call):
        if agent_of(call) == "contradictions":
            return exceptions.AuthenticationError("bad key")
        return answer(call)

    orch, _ = orchestrator(failing_contradictions)
    response = orch.execute(evaluate(cross_check_rounds=0))
    assert response.metadata.degraded
    assert agentic_of(response).failed_agents == ["contradictions"]
    failed = next(n for n in response.metadata.nodes if n.node == "agent:contradictions")
    assert failed.status == "failed"
    assert failed.error is not None
    assert failed.error["code"] == "authentication_error"
    assert failed.retries == 0  # not transient: not retried
    result = PillarsEvaluation.model_validate(response.results)
    assert result.completeness is not None
    assert result.completeness.score == 60  # the others' findings are kept
    # The failed agent's part is null, never an invented score; the overall score is
    # the mean of the parts that exist (completeness 60, context 70).
    assert result.contradictions is None
    assert result.overall_score == 65


def test_strict_mode_raises_agent_failure():
    def failing_context(call):
        if agent_of(call) == "context":
            return exceptions.ProviderError("boom")
        return answer(call)

    orch, _ = orchestrator(failing_context)
    with pytest.raises(exceptions.AgentFailureError) as info:
        orch.execute(evaluate(strict=True))
    assert info.value.http_status == 500
    assert info.value.context["agents"]["context"]["code"] == "provider_error"


def test_every_agent_failing_raises_with_each_error():
    orch, _ = orchestrator(lambda call: exceptions.PermissionDeniedError("no"))
    with pytest.raises(exceptions.AgentFailureError) as info:
        orch.execute(evaluate())
    assert set(info.value.context["agents"]) == {"completeness", "contradictions", "context"}


def test_transient_errors_are_retried_and_others_are_not():
    calls = {"completeness": 0}

    def flaky(call):
        agent = agent_of(call)
        if agent == "completeness":
            calls["completeness"] += 1
            if calls["completeness"] == 1:
                return exceptions.RateLimitError("slow down")
        return answer(call)

    orch, _ = orchestrator(flaky)
    response = orch.execute(evaluate(cross_check_rounds=0))
    node = next(n for n in response.metadata.nodes if n.node == "agent:completeness")
    assert node.status == "succeeded"
    assert node.retries == 1
    assert not response.metadata.degraded


def test_retry_predicate():
    assert is_transient(exceptions.RateLimitError())
    assert is_transient(exceptions.TimeoutError())
    assert is_transient(exceptions.ModelUnavailableError())
    assert is_transient(exceptions.ProviderError("5xx", sdk_error="InternalServerError"))
    assert not is_transient(exceptions.ProviderError("schema failed twice"))
    assert not is_transient(exceptions.AuthenticationError())
    assert not is_transient(exceptions.ValidationError())


def test_per_agent_models_reach_their_nodes():
    orch, _ = orchestrator()
    response = orch.execute(
        evaluate(agent_models={"contradictions": "test:big"}, cross_check_rounds=0)
    )
    by_node = {n.node: n.model_id for n in response.metadata.nodes}
    assert by_node["agent:contradictions"] == "test:big"
    assert by_node["agent:completeness"] == "test:m"
    assert set(response.metadata.models_used) == {"test:m", "test:big"}


def test_per_agent_models_from_config():
    orch, _ = orchestrator(agent_models={"cross_check": "test:reviewer"})
    response = orch.execute(evaluate())
    assert {n.node: n.model_id for n in response.metadata.nodes}["cross_check:1"] == "test:reviewer"


def test_unknown_agent_or_model_fails_before_any_call():
    orch, model = orchestrator()
    with pytest.raises(exceptions.InvalidRequestError) as info:
        orch.execute(evaluate(agent_models={"critic": "test:x"}))
    assert "completeness" in info.value.context["known_agents"]
    with pytest.raises(exceptions.AuthenticationError):
        orch.execute(evaluate(agent_models={"context": "openai"}))
    assert model.calls == []


def test_context_agent_is_skipped_without_context():
    orch, model = orchestrator()
    response = orch.execute(
        LLMRequest(
            feature="pillars",
            operation="evaluate",
            execution_mode="agentic",
            data={"pillars": PILLARS["pillars"]},
            options={"cross_check_rounds": 0},
        )
    )
    assert agentic_of(response).skipped_agents == ["context"]
    assert response.results["context_alignment"] is None
    assert all(agent_of(c) != "context" for c in model.calls)


def test_operation_without_a_plan_runs_as_one_agent():
    valid = {
        "is_valid": True,
        "score": 80,
        "feedback": "ok",
        "issues": [],
        "improved_version": None,
    }
    orch, _ = orchestrator(lambda call: valid)
    response = orch.execute(
        LLMRequest(
            feature="pillars",
            operation="validate",
            execution_mode="agentic",
            data={"name": "Core", "description": "Puzzles"},
        )
    )
    assert response.results == valid
    assert [n.node for n in response.metadata.nodes] == ["agent:validate"]
    assert agentic_of(response).plan == "single_agent"


def test_default_mode_comes_from_config():
    orch, _ = orchestrator(default_execution_mode="agentic")
    response = orch.execute(LLMRequest(feature="pillars", operation="evaluate", data=PILLARS))
    assert response.metadata.execution_mode == "agentic"


def test_monolithic_answers_the_same_operation_with_one_prompt():
    evaluation = {
        "completeness": ANSWERS["completeness"],
        "contradictions": ANSWERS["contradictions"],
        "context_alignment": ANSWERS["context"],
        "overall_score": 66,
        "summary": "One prompt.",
    }
    orch, model = orchestrator(lambda call: evaluation)
    response = orch.execute(
        LLMRequest(
            feature="pillars", operation="evaluate", data=PILLARS, execution_mode="monolithic"
        )
    )
    assert PillarsEvaluation.model_validate(response.results).summary == "One prompt."
    assert len(model.calls) == 1
    assert response.metadata.agentic is None
