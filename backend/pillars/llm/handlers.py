"""The six pillar operations. Registered with the public decorator, like any feature."""

from __future__ import annotations

from typing import Any, ClassVar

from backend.llm.exceptions import ValidationError
from backend.llm.handler_registry import register_handler
from backend.llm.operation_handler import BaseOperationHandler

from . import prompts, schemas
from .areas import format_areas
from .prompts import format_context, format_pillars

__all__ = [
    "EvaluateCompletenessHandler",
    "EvaluateContextHandler",
    "EvaluateContradictionsHandler",
    "EvaluatePillarsHandler",
    "ImprovePillarHandler",
    "PillarSetHandler",
    "SuggestAdditionsHandler",
    "ValidatePillarHandler",
]


class SinglePillarHandler(BaseOperationHandler):
    """Base of operations on one pillar ``{name, description}``."""

    input_schema = schemas.PillarInput
    template: ClassVar[str]

    def build_prompt(self, data: dict[str, Any]) -> str:
        return self.template.format(
            name=data["name"].strip(), description=data["description"].strip()
        )


class PillarSetHandler(BaseOperationHandler):
    """Base of operations on a pillar set ``{pillars: [...], context?: {...}}``."""

    input_schema: ClassVar[type[schemas.PillarSetInput]] = schemas.PillarSetInput
    template: ClassVar[str]

    def build_prompt(self, data: dict[str, Any]) -> str:
        return self.template.format(
            pillars=format_pillars(data["pillars"]),
            context=format_context(data.get("context")),
            areas=format_areas(),
        )


@register_handler
class ValidatePillarHandler(SinglePillarHandler):
    """Validate a pillar's structure and clarity."""

    operation_id = "pillars.validate"
    response_schema = schemas.PillarValidation
    template = prompts.VALIDATE


@register_handler
class ImprovePillarHandler(SinglePillarHandler):
    """Generate an improved version of a pillar."""

    operation_id = "pillars.improve"
    response_schema = schemas.PillarImprovement
    template = prompts.IMPROVE


@register_handler
class EvaluateCompletenessHandler(PillarSetHandler):
    """Check whether a pillar set covers the game design adequately."""

    operation_id = "pillars.evaluate_completeness"
    response_schema = schemas.CompletenessEvaluation
    template = prompts.EVALUATE_COMPLETENESS


@register_handler
class EvaluateContradictionsHandler(PillarSetHandler):
    """Find contradictions between pillars."""

    operation_id = "pillars.evaluate_contradictions"
    response_schema = schemas.ContradictionsEvaluation
    template = prompts.EVALUATE_CONTRADICTIONS


@register_handler
class SuggestAdditionsHandler(PillarSetHandler):
    """Suggest additional pillars for a set."""

    operation_id = "pillars.suggest_additions"
    response_schema = schemas.PillarSuggestions
    template = prompts.SUGGEST_ADDITIONS


@register_handler
class EvaluateContextHandler(PillarSetHandler):
    """Evaluate how well each pillar fits the game's context."""

    operation_id = "pillars.evaluate_context"
    response_schema = schemas.ContextEvaluation
    input_schema = schemas.PillarSetWithContextInput
    template = prompts.EVALUATE_CONTEXT

    def validate_input(self, data: dict[str, Any]) -> None:
        super().validate_input(data)
        if schemas.GameContext.model_validate(data["context"]).is_empty():
            raise ValidationError(
                "evaluate_context needs a non-empty context.",
                operation=self.operation_id,
                errors=[{"field": "context", "error": "all fields are empty"}],
                suggestion="Give at least one of genre, audience, platform, vision.",
            )


@register_handler
class EvaluatePillarsHandler(PillarSetHandler):
    """Review a pillar set as a whole: completeness, contradictions, context alignment."""

    operation_id = "pillars.evaluate"
    response_schema = schemas.PillarsEvaluation
    template = prompts.EVALUATE
