"""A fake orchestrator for API tests (``LLM_ORCHESTRATOR_FACTORY``): every pillar
operation answered by a function-driven model, calls counted."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from langchain_core.messages import BaseMessage

from backend.llm import LLMOrchestrator
from backend.llm.config import Config
from backend.llm.providers import ModelManager
from tests.doubles import FunctionProvider
from tests.test_agentic import ANSWERS, agent_of

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


def answer(messages: Sequence[BaseMessage]) -> Any:
    if "reply" in OVERRIDE:
        return OVERRIDE["reply"]
    prompt = messages[-1].text
    if "Review this game design pillar." in prompt:
        return VALID
    if "Rewrite this game design pillar" in prompt:
        return IMPROVED
    if "Suggest up to three" in prompt:
        return SUGGESTIONS
    if "as a whole" in prompt:
        return EVALUATION
    return ANSWERS[agent_of(messages)]


def fake_orchestrator() -> LLMOrchestrator:
    provider = FunctionProvider(answer, delay_s=float(OVERRIDE.get("delay_s", 0.0)))
    manager = ModelManager(Config(default_model="fake:api"), providers={"fake": provider})
    return LLMOrchestrator(model_manager=manager)


def model_calls() -> int:
    from backend.llm.api.execution import get_run_service

    provider = get_run_service().orchestrator.model_manager.provider("fake")
    assert isinstance(provider, FunctionProvider)
    return len(provider.calls)
