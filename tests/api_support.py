"""A fake orchestrator for API tests (``LLM_ORCHESTRATOR_FACTORY``): every pillar
operation answered by a function-driven model, calls counted."""

from __future__ import annotations

from typing import Any

from backend.llm import LLMOrchestrator
from backend.llm.testing import CallInfo, FunctionModel, TestProvider, by_schema, manager_for
from tests.test_agentic import ANSWERS

VALID = {
    "is_valid": True,
    "score": 80,
    "feedback": "Clear.",
    "issues": [],
    "improved_version": None,
}
IMPROVED = {
    "improved_version": {
        "name": "Puzzles open the world",
        "description": "Every puzzle unlocks a place.",
    },
    "changes": ["made it specific"],
    "rationale": "Specific pillars settle arguments.",
}
SUGGESTIONS = {
    "suggestions": [
        {"name": "Runs tell stories", "description": "Each run has an arc.", "rationale": "Replay."}
    ],
    "feedback": "Add a narrative pillar.",
}
EVALUATION = {
    "completeness": ANSWERS["completeness"],
    "contradictions": ANSWERS["contradictions"],
    "context_alignment": ANSWERS["context"],
    "overall_score": 66,
    "summary": "One prompt.",
}

#: Set by a test to make the model raise (or answer) something else.
OVERRIDE: dict[str, Any] = {}


_BY_SCHEMA = by_schema(
    {
        "PillarValidation": VALID,
        "PillarImprovement": IMPROVED,
        "PillarSuggestions": SUGGESTIONS,
        "PillarsEvaluation": EVALUATION,
        "CompletenessEvaluation": ANSWERS["completeness"],
        "ContradictionsEvaluation": ANSWERS["contradictions"],
        "ContextEvaluation": ANSWERS["context"],
        "CrossCheckReview": ANSWERS["cross_check"],
    },
    default=None,
)


def answer(call: CallInfo) -> Any:
    if "reply" in OVERRIDE:
        return OVERRIDE["reply"]
    return _BY_SCHEMA(call)


def fake_orchestrator() -> LLMOrchestrator:
    model = FunctionModel(function=answer, delay_s=float(OVERRIDE.get("delay_s", 0.0)))
    return LLMOrchestrator(model_manager=manager_for(model, default_model="test:api"))


def model_calls() -> int:
    from backend.llm.api.execution import get_run_service

    provider = get_run_service().orchestrator.model_manager.provider("test")
    assert isinstance(provider, TestProvider)
    return len(provider.model.calls)
