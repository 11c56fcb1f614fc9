"""The handler registry and the six pillar operations' inputs and prompts."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel

from backend.llm import exceptions
from backend.llm.handler_registry import (
    AlreadyRegistered,
    HandlerRegistry,
    get_handler,
    register_handler,
    registry,
)
from backend.llm.operation_handler import BaseOperationHandler
from backend.pillars.llm import handlers as pillar_handlers

PILLARS = [
    {"name": "Every fight is a puzzle", "description": "Combat rewards planning over reflexes."},
    {"name": "Fast and frantic", "description": "Players react in split seconds."},
]
CONTEXT = {"genre": "roguelike", "audience": "core PC players"}
SIX = [
    "pillars.evaluate_completeness",
    "pillars.evaluate_context",
    "pillars.evaluate_contradictions",
    "pillars.improve",
    "pillars.suggest_additions",
    "pillars.validate",
]


class Summary(BaseModel):
    summary: str


class SummarizeHandler(BaseOperationHandler):
    operation_id = "moodboards.summarize"
    response_schema = Summary

    def build_prompt(self, data):
        return "Summarize %s" % data["description"]  # noqa: UP031 - the spec's style

    def validate_input(self, data):
        if "description" not in data:
            raise exceptions.InvalidRequestError(message="Missing 'description'")


def test_the_six_pillar_operations_are_autodiscovered():
    assert set(SIX) <= set(registry.operations("pillars"))
    assert "pillars" in registry.features()


def test_spec_import_still_works_and_does_not_double_register():
    from backend.pillars.llm import handlers  # noqa: F401

    assert get_handler("pillars.validate") is pillar_handlers.ValidatePillarHandler


def test_register_forms_and_duplicates():
    local = HandlerRegistry()
    local.register("moodboards.summarize", SummarizeHandler)
    local.register("moodboards.summarize", SummarizeHandler)  # same class: idempotent

    class Other(SummarizeHandler):
        pass

    with pytest.raises(AlreadyRegistered):
        local.register("moodboards.summarize", Other)
    with pytest.raises(ValueError, match=r"feature\.operation"):
        local.register("summarize", SummarizeHandler)
    with pytest.raises(ValueError, match="operation_id"):
        local.register("moodboards.other", SummarizeHandler)
    with pytest.raises(TypeError):
        local.register("moodboards.summarize", dict)  # type: ignore[arg-type]


def test_public_register_handler_as_call_and_decorators():
    try:
        assert register_handler("moodboards.summarize", SummarizeHandler) is SummarizeHandler
        assert get_handler("moodboards.summarize") is SummarizeHandler
        registry.unregister("moodboards.summarize")

        @register_handler
        class Deco(SummarizeHandler):
            operation_id = "moodboards.deco"

        @register_handler("moodboards.named")
        class Named(SummarizeHandler):
            operation_id = "moodboards.named"

        assert get_handler("moodboards.deco") is Deco
        assert get_handler("moodboards.named") is Named
    finally:
        for op in ("moodboards.summarize", "moodboards.deco", "moodboards.named"):
            registry.unregister(op)


@pytest.mark.parametrize(
    ("operation", "data", "field"),
    [
        ("validate", {}, "name"),
        ("validate", {"name": "x"}, "description"),
        ("validate", {"name": "  ", "description": "d"}, "name"),
        ("validate", {"name": 3, "description": "d"}, "name"),
        ("validate", {"name": "n", "description": "d" * 4001}, "description"),
        ("validate", {"name": "n", "description": "d", "extra": 1}, "extra"),
        ("improve", {"name": "n"}, "description"),
        ("evaluate_completeness", {}, "pillars"),
        ("evaluate_completeness", {"pillars": []}, "pillars"),
        ("evaluate_completeness", {"pillars": PILLARS * 11}, "pillars"),
        ("evaluate_contradictions", {"pillars": [{"name": "n"}]}, "pillars.0.description"),
        ("suggest_additions", {"pillars": "lots"}, "pillars"),
        ("evaluate_context", {"pillars": PILLARS}, "context"),
        ("evaluate_context", {"pillars": PILLARS, "context": {"colour": "red"}}, "context.colour"),
        ("evaluate_context", {"pillars": PILLARS, "context": {}}, "context"),
    ],
)
def test_bad_inputs_name_the_field(operation, data, field):
    handler = registry.get("pillars", operation)()
    with pytest.raises(exceptions.ValidationError) as info:
        handler.validate_input(data)
    assert field in [e["field"] for e in info.value.context["errors"]]
    assert info.value.suggestion


@pytest.mark.parametrize("operation_id", SIX)
def test_prompts_carry_the_input(operation_id):
    handler = get_handler(operation_id)()
    if operation_id in ("pillars.validate", "pillars.improve"):
        data: dict[str, Any] = {"name": "Core Mechanic", "description": "Players solve puzzles"}
        expected = ["Core Mechanic", "Players solve puzzles"]
    else:
        data = {"pillars": PILLARS, "context": CONTEXT}
        expected = ["1. Every fight is a puzzle", "2. Fast and frantic", "roguelike"]
    handler.validate_input(data)
    system, user = handler.build_messages(data)
    assert "JSON" in system.text
    for text in expected:
        assert text in user.text
    assert handler.description()
