"""Input and response schemas of the pillar operations.

Response bounds are generous (they are the public contract); the orchestrator sends
tighter ones to small local models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .areas import DesignArea

__all__ = [
    "CompletenessEvaluation",
    "ContextEvaluation",
    "Contradiction",
    "ContradictionsEvaluation",
    "GameContext",
    "MissingArea",
    "PillarAlignment",
    "PillarDraft",
    "PillarImprovement",
    "PillarInput",
    "PillarSetInput",
    "PillarSetWithContextInput",
    "PillarSuggestion",
    "PillarSuggestions",
    "PillarValidation",
    "PillarsEvaluation",
    "Score",
    "Text",
]

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=120)]
Description = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
]
ShortText = Annotated[str, StringConstraints(max_length=300)]
Text = Annotated[str, StringConstraints(max_length=2000)]
Score = Annotated[int, Field(ge=0, le=100, description="0 (worst) to 100 (best).")]

MAX_PILLARS = 20


# -- inputs ---------------------------------------------------------------------------
class PillarInput(BaseModel):
    """One pillar: ``{"name": ..., "description": ...}``."""

    model_config = ConfigDict(extra="forbid")

    name: Name
    description: Description


class GameContext(BaseModel):
    """What the game is; every field optional, at least one given where required."""

    model_config = ConfigDict(extra="forbid")

    title: Annotated[str, StringConstraints(max_length=200)] | None = None
    genre: Annotated[str, StringConstraints(max_length=200)] | None = None
    audience: Annotated[str, StringConstraints(max_length=300)] | None = None
    platform: Annotated[str, StringConstraints(max_length=200)] | None = None
    vision: Annotated[str, StringConstraints(max_length=4000)] | None = None
    constraints: Annotated[str, StringConstraints(max_length=2000)] | None = None

    def is_empty(self) -> bool:
        return not any(self.model_dump().values())


class PillarSetInput(BaseModel):
    """A pillar set: ``{"pillars": [...], "context": {...}?}``."""

    model_config = ConfigDict(extra="forbid")

    pillars: Annotated[list[PillarInput], Field(min_length=1, max_length=MAX_PILLARS)]
    context: GameContext | None = None


class PillarSetWithContextInput(PillarSetInput):
    """A pillar set whose ``context`` is required (``evaluate_context``)."""

    context: GameContext


# -- responses --------------------------------------------------------------------------
class PillarDraft(BaseModel):
    name: ShortText
    description: Text


class PillarValidation(BaseModel):
    """``pillars.validate``: is this a well-formed design pillar?"""

    is_valid: bool = Field(description="True if the pillar is clear, specific and actionable.")
    score: Score
    feedback: Text
    issues: Annotated[list[ShortText], Field(max_length=10)] = Field(default_factory=list)
    improved_version: PillarDraft | None = None


class PillarImprovement(BaseModel):
    """``pillars.improve``: a rewritten pillar and what changed."""

    improved_version: PillarDraft
    changes: Annotated[list[ShortText], Field(max_length=10)]
    rationale: Text


class MissingArea(BaseModel):
    area: DesignArea = Field(description="One of the design areas of the vocabulary.")
    why_it_matters: ShortText


class CompletenessEvaluation(BaseModel):
    """``pillars.evaluate_completeness``: do the pillars cover the design?"""

    is_complete: bool
    score: Score
    covered_areas: Annotated[list[DesignArea], Field(max_length=len(DesignArea))]
    missing_areas: Annotated[list[MissingArea], Field(max_length=len(DesignArea))]
    feedback: Text


class Contradiction(BaseModel):
    pillar_a: ShortText
    pillar_b: ShortText
    explanation: Text
    severity: Literal["low", "medium", "high"]


class ContradictionsEvaluation(BaseModel):
    """``pillars.evaluate_contradictions``: which pillars pull against each other?"""

    has_contradictions: bool
    contradictions: Annotated[list[Contradiction], Field(max_length=15)]
    feedback: Text


class PillarSuggestion(BaseModel):
    name: ShortText
    description: Text
    rationale: ShortText


class PillarSuggestions(BaseModel):
    """``pillars.suggest_additions``: pillars worth adding."""

    suggestions: Annotated[list[PillarSuggestion], Field(max_length=5)]
    feedback: Text


class PillarAlignment(BaseModel):
    pillar_name: ShortText
    score: Score
    notes: ShortText


class ContextEvaluation(BaseModel):
    """``pillars.evaluate_context``: do the pillars fit the game's context?"""

    overall_score: Score
    pillars: Annotated[list[PillarAlignment], Field(max_length=MAX_PILLARS)]
    feedback: Text


class PillarsEvaluation(BaseModel):
    """``pillars.evaluate``: the whole review of a pillar set, in either execution mode."""

    completeness: CompletenessEvaluation | None = Field(
        description="Null only in agentic mode, when the completeness agent failed."
    )
    contradictions: ContradictionsEvaluation | None = Field(
        description="Null only in agentic mode, when the contradictions agent failed."
    )
    context_alignment: ContextEvaluation | None = Field(
        default=None,
        description="Null when the request has no game context (or its agent failed).",
    )
    overall_score: Score
    summary: Text
