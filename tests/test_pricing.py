"""Cost: a dated price table, extendable by config; unknown prices are null, never 0."""

from __future__ import annotations

import datetime

import pytest

from backend.llm import LLMOrchestrator
from backend.llm._env import ConfigurationError
from backend.llm.config import Config, get_config, reset_config
from backend.llm.pricing import DEFAULT_PRICES, Price, PriceTable
from backend.llm.testing import FunctionModel, manager_for, sequence
from backend.llm.types import LLMRequest, TokenUsage
from tests.api_support import VALID

PILLAR = {"name": "Core", "description": "Puzzles"}


def test_longest_prefix_wins_and_unknown_models_have_no_price():
    table = PriceTable()
    assert table.price("openai:gpt-4o-mini-2024-07-18") == DEFAULT_PRICES["openai:gpt-4o-mini"]
    assert table.price("openai:gpt-4o") == DEFAULT_PRICES["openai:gpt-4o"]
    assert table.price("openai:my-finetune") is None
    assert table.cost("openai:my-finetune", TokenUsage(input_tokens=10)) is None
    assert table.cost("local:smollm2-135m-instruct.q4_1", TokenUsage(input_tokens=10)) == 0.0
    assert all(isinstance(p.checked, datetime.date) for p in DEFAULT_PRICES.values())


def test_cost_is_input_and_output_tokens_at_their_prices():
    usage = TokenUsage(input_tokens=1_000_000, output_tokens=500_000, total_tokens=1_500_000)
    assert PriceTable().cost("openai:gpt-4o-mini", usage) == pytest.approx(0.15 + 0.30)


def test_run_metadata_sums_node_costs_when_every_price_is_known():
    priced = Config(
        default_model="test:m",
        prices={"test:": Price(input_per_mtok=1.0, output_per_mtok=2.0, checked="2026-11-29")},
    )
    model = FunctionModel(function=sequence(VALID))
    response = LLMOrchestrator(model_manager=manager_for(model, **priced.model_dump())).execute(
        LLMRequest(feature="pillars", operation="validate", data=PILLAR)
    )
    usage = response.metadata.token_usage
    expected = (usage.input_tokens * 1.0 + usage.output_tokens * 2.0) / 1_000_000
    assert response.metadata.nodes[0].cost_usd == pytest.approx(expected)
    assert response.metadata.cost_usd == pytest.approx(expected)


def test_an_unknown_price_makes_the_cost_null_not_zero():
    model = FunctionModel(function=sequence(VALID))
    response = LLMOrchestrator(model_manager=manager_for(model)).execute(
        LLMRequest(feature="pillars", operation="validate", data=PILLAR)
    )
    assert response.metadata.token_usage.total_tokens > 0
    assert response.metadata.nodes[0].cost_usd is None
    assert response.metadata.cost_usd is None


def test_prices_are_configurable_from_the_environment(monkeypatch):
    monkeypatch.setenv(
        "LLM_ORCHESTRATOR_PRICES",
        '{"openai:my-finetune": {"input_per_mtok": 3, "output_per_mtok": 12, '
        '"checked": "2026-11-01"}}',
    )
    reset_config()
    assert PriceTable(get_config().prices).price("openai:my-finetune") is not None
    monkeypatch.setenv("LLM_ORCHESTRATOR_PRICES", '{"x": {"input_per_mtok": -1}}')
    reset_config()
    with pytest.raises(ConfigurationError, match="LLM_ORCHESTRATOR_PRICES"):
        get_config()
