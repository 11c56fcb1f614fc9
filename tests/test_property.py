"""Random requests thrown at execute(): only the 14 typed errors ever come out."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.llm import LLMOrchestrator
from backend.llm.exceptions import LLMOrchestratorError, all_error_classes
from backend.llm.testing import FunctionModel, manager_for
from backend.llm.types import LLMResponse

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
pillar = st.fixed_dictionaries(
    {"name": st.text(max_size=40), "description": st.text(max_size=80)},
    optional={"extra": json_values},
)
data = st.one_of(
    st.dictionaries(
        st.sampled_from(["name", "description", "pillars", "context", "x"]), json_values
    ),
    pillar,
    st.fixed_dictionaries(
        {"pillars": st.lists(pillar, max_size=4)}, optional={"context": json_values}
    ),
)
requests = st.fixed_dictionaries(
    {
        "feature": st.one_of(st.just("pillars"), st.text(max_size=12), st.integers()),
        "operation": st.one_of(
            st.sampled_from(["validate", "improve", "evaluate_context", "suggest_additions"]),
            st.text(max_size=12),
        ),
        "data": st.one_of(data, json_values),
    },
    optional={
        "model_id": st.one_of(
            st.none(),
            st.sampled_from(["local", "test:x", "openai", "gemini", "nope", "ollama:"]),
            st.text(max_size=10),
        ),
        "execution_mode": st.one_of(st.none(), st.sampled_from(["monolithic", "agentic", "turbo"])),
        "timeout_ms": st.one_of(st.none(), st.integers(min_value=-5, max_value=10**7)),
        "options": st.one_of(
            st.dictionaries(
                st.sampled_from(["temperature", "max_output_tokens", "output_retries", "x"]),
                json_values,
                max_size=3,
            ),
            json_values,
        ),
    },
)
# What the fake model answers: valid-looking JSON, junk, or garbage.
answers = st.one_of(
    st.dictionaries(st.text(max_size=10), json_values, max_size=5).map(json.dumps),
    st.text(max_size=40),
)

ALLOWED = tuple(all_error_classes())


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(request=requests, answer=answers)
def test_execute_raises_only_typed_errors(request: dict[str, Any], answer: str) -> None:
    model = FunctionModel(function=lambda call: answer)
    orchestrator = LLMOrchestrator(model_manager=manager_for(model))
    outcome: LLMResponse | LLMOrchestratorError
    try:
        outcome = orchestrator.execute(request)
    except LLMOrchestratorError as error:
        outcome = error
    if isinstance(outcome, LLMOrchestratorError):
        assert type(outcome) in ALLOWED
        assert outcome.to_dict()["code"] == type(outcome).code
        json.dumps(outcome.to_dict(), default=str)
    else:
        assert isinstance(outcome, LLMResponse)
