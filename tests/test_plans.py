"""Agent plans: checked when registered, merged generically, extensible by one spec."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from agents.pillars import PILLARS_REVIEW_PLAN
from backend.llm import LLMOrchestrator
from backend.llm.handler_registry import AlreadyRegistered, HandlerRegistry, registry
from backend.llm.plan_registry import PlanRegistry
from backend.llm.plans import AgentPlan, AgentSpec, PlanError
from backend.llm.testing import CallInfo, FunctionModel, TestModel, by_schema, manager_for
from backend.llm.types import LLMRequest
from backend.pillars.llm.handlers import PillarSetHandler
from backend.pillars.llm.schemas import PillarsEvaluation, Score, Text
from tests.test_agentic import ANSWERS, PILLARS


def pillar_registry() -> HandlerRegistry:
    """A private registry holding the pillar operations (copied from the global one)."""
    private = HandlerRegistry()
    for operation_id in registry.operations("pillars"):
        private.register(operation_id, registry.handler(operation_id))
    return private


def plan_with(*agents: AgentSpec, **changes: Any) -> AgentPlan:
    fields = {
        "operation_id": "pillars.evaluate",
        "agents": agents,
        "score_field": "overall_score",
        "summary_field": "summary",
        **changes,
    }
    return AgentPlan(**fields)


COMPLETENESS, CONTRADICTIONS, CONTEXT = PILLARS_REVIEW_PLAN.agents


def test_the_pillar_review_plan_is_registered_and_valid():
    PlanRegistry().register(PILLARS_REVIEW_PLAN)  # raises if invalid


@pytest.mark.parametrize(
    ("plan", "message"),
    [
        (plan_with(COMPLETENESS, CONTEXT), "required field"),
        (plan_with(COMPLETENESS, COMPLETENESS, CONTRADICTIONS), "repeats an agent name"),
        (
            plan_with(
                COMPLETENESS,
                CONTRADICTIONS,
                AgentSpec("context", "pillars.evaluate_context", field="nowhere"),
            ),
            "must fill a field",
        ),
        (
            plan_with(
                COMPLETENESS,
                CONTRADICTIONS,
                AgentSpec("context", "pillars.evaluate_context", field="completeness"),
            ),
            "returns ContextEvaluation",
        ),
        (
            plan_with(
                COMPLETENESS, CONTRADICTIONS, CONTEXT, AgentSpec("merge", "pillars.validate", "x")
            ),
            "must be an identifier and not one of",
        ),
        (
            plan_with(COMPLETENESS, CONTRADICTIONS, CONTEXT, score_field="completeness"),
            "free field",
        ),
    ],
)
def test_invalid_plans_are_rejected_at_registration(plan, message):
    with pytest.raises(PlanError, match=message):
        PlanRegistry().register(plan)


def test_a_field_that_cannot_be_null_is_rejected():
    class Strict(BaseModel):
        completeness: Any
        overall_score: Score
        summary: Text

    private = HandlerRegistry()

    class StrictHandler(PillarSetHandler):
        """Strict."""

        operation_id = "strict.evaluate"
        response_schema = Strict
        template = "{pillars}{context}"

    private.register("strict.evaluate", StrictHandler)
    private.register("pillars.evaluate_completeness", registry.handler(COMPLETENESS.operation_id))
    plan = AgentPlan(
        operation_id="strict.evaluate",
        agents=(
            AgentSpec("completeness", COMPLETENESS.operation_id, "completeness", score="score"),
        ),
        score_field="overall_score",
        summary_field="summary",
    )
    with pytest.raises(PlanError, match="returns CompletenessEvaluation"):
        PlanRegistry().register(plan, handlers=private)


def test_a_plan_needs_its_operation_and_registers_once():
    plans = PlanRegistry()
    with pytest.raises(PlanError, match="No handler"):
        plans.register(plan_with(COMPLETENESS, operation_id="nope.evaluate"))
    plans.register(PILLARS_REVIEW_PLAN)
    with pytest.raises(AlreadyRegistered):
        plans.register(plan_with(COMPLETENESS, CONTRADICTIONS, CONTEXT))


def test_a_private_registry_runs_end_to_end_in_both_modes():
    """Dependency injection all the way down: the graphs' nodes use the orchestrator's
    registries, not the global ones (the operation is missing from the global one)."""

    class EchoResult(BaseModel):
        echoed: str

    class EchoHandler(PillarSetHandler):
        """Echo the first pillar."""

        operation_id = "private.echo"
        response_schema = EchoResult
        template = "{pillars}{context}"

    private = HandlerRegistry()
    private.register("private.echo", EchoHandler)
    assert "private.echo" not in registry
    orchestrator = LLMOrchestrator(
        handlers=private, plans=PlanRegistry(), model_manager=manager_for(TestModel())
    )
    for mode in ("monolithic", "agentic"):
        response = orchestrator.execute(
            LLMRequest(feature="private", operation="echo", data=PILLARS, execution_mode=mode)
        )
        assert EchoResult.model_validate(response.results)


# -- adding a fourth agent: one spec, one schema field and its prompt ------------------------
class FeasibilityReview(BaseModel):
    """Can a team of this size build these pillars on this platform?"""

    score: Score
    risks: list[str]
    feedback: Text


class FeasibilityHandler(PillarSetHandler):
    """Judge whether the pillars can be built within the game's constraints."""

    operation_id = "pillars.evaluate_feasibility"
    response_schema = FeasibilityReview
    template = "Judge whether a team can build these pillars.\n{context}Pillars:\n{pillars}"


class EvaluationWithFeasibility(PillarsEvaluation):
    feasibility: FeasibilityReview | None = None


class EvaluateWithFeasibilityHandler(PillarSetHandler):
    """The pillar review, with feasibility."""

    operation_id = "pillars.evaluate"
    response_schema = EvaluationWithFeasibility
    template = registry.handler("pillars.evaluate").template  # type: ignore[attr-defined]


def test_a_fourth_agent_is_one_spec_and_its_finding_reaches_the_results():
    handlers = pillar_registry()
    handlers.unregister("pillars.evaluate")
    handlers.register("pillars.evaluate", EvaluateWithFeasibilityHandler)
    handlers.register("pillars.evaluate_feasibility", FeasibilityHandler)
    plans = PlanRegistry()
    plans.register(
        plan_with(
            *PILLARS_REVIEW_PLAN.agents,
            AgentSpec(
                "feasibility", "pillars.evaluate_feasibility", field="feasibility", score="score"
            ),
            cross_check=None,
        ),
        handlers=handlers,
    )
    feasibility = {"score": 40, "risks": ["netcode"], "feedback": "Scope is large."}
    nodes: list[str] = []

    def answer(call: CallInfo) -> Any:
        nodes.append(call.node or "?")
        return by_schema(
            {
                "CompletenessEvaluation": ANSWERS["completeness"],
                "ContradictionsEvaluation": ANSWERS["contradictions"],
                "ContextEvaluation": ANSWERS["context"],
                "FeasibilityReview": feasibility,
            },
            default=None,
        )(call)

    orchestrator = LLMOrchestrator(
        handlers=handlers,
        plans=plans,
        model_manager=manager_for(FunctionModel(function=answer, delay_s=0.2)),
    )
    response = orchestrator.execute(
        LLMRequest(feature="pillars", operation="evaluate", data=PILLARS, execution_mode="agentic")
    )
    result = EvaluationWithFeasibility.model_validate(response.results)
    assert result.feasibility == FeasibilityReview.model_validate(feasibility)
    # Mean of completeness 60, contradictions 70, context 70 and feasibility 40.
    assert result.overall_score == 60
    assert "Scope is large." in result.summary
    assert sorted(nodes) == ["completeness", "context", "contradictions", "feasibility"]
    assert response.metadata.agentic is not None
    assert response.metadata.agentic.parallel_phase_ms < 4 * 200  # they ran side by side
