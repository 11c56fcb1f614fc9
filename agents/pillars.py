"""The pillar review split across three specialists (completeness, contradictions,
context) and a cross-check reviewer who reconciles their findings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, Field

from backend.llm.plans import AgentPlan, AgentSpec, CrossCheck, Findings
from backend.pillars.llm.prompts import format_context, format_pillars
from backend.pillars.llm.schemas import (
    ContradictionsEvaluation,
    PillarsEvaluation,
    Score,
    Text,
)

__all__ = ["CROSS_CHECK_PROMPT", "PILLARS_REVIEW_PLAN", "CrossCheckReview", "contradictions_score"]

_SEVERITY_PENALTY = {"low": 5, "medium": 12, "high": 25}


class CrossCheckReview(BaseModel):
    """A reviewer's reconciliation of the specialists' findings (agentic cross-check)."""

    dismissed_contradictions: Annotated[list[int], Field(max_length=15)] = Field(
        default_factory=list,
        description="Numbers of listed contradictions that are duplicates, or that the game "
        "context or a missing area explains rather than a real conflict.",
    )
    overall_score: Score
    summary: Text


CROSS_CHECK_PROMPT = """\
Three specialists reviewed the same set of game design pillars independently. Reconcile
their findings.

{context}Pillars:
{pillars}

Completeness review: {completeness}
Context review: {context_review}
Contradictions found:
{contradictions}

Dismiss (by number) every contradiction that duplicates another, or that the game
context or a missing design area explains rather than a real conflict between pillars.
Then give an overall_score from 0 to 100 for the set and a summary of the review that
takes all three specialists into account.
"""


def _has_context(data: Mapping[str, Any]) -> bool:
    context = data.get("context") or {}
    return any(context.values()) if isinstance(context, Mapping) else False


def contradictions_score(review: ContradictionsEvaluation) -> int:
    """100 minus a penalty per contradiction, by severity."""
    penalty = sum(_SEVERITY_PENALTY[c.severity] for c in review.contradictions)
    return max(0, 100 - penalty)


def _cross_check_prompt(merged: BaseModel, findings: Findings, data: Mapping[str, Any]) -> str:
    assert isinstance(merged, PillarsEvaluation)
    contradictions = merged.contradictions.contradictions if merged.contradictions else []
    listed = "\n".join(
        f"{i}. {c.pillar_a} vs {c.pillar_b} ({c.severity}): {c.explanation}"
        for i, c in enumerate(contradictions, 1)
    )
    completeness = merged.completeness
    context = merged.context_alignment
    return CROSS_CHECK_PROMPT.format(
        context=format_context(data.get("context")),
        pillars=format_pillars(list(data["pillars"])),
        completeness=(
            f"score {completeness.score}; covered "
            + (", ".join(completeness.covered_areas) or "none")
            + "; missing "
            + (", ".join(a.area for a in completeness.missing_areas) or "none")
            + "."
            if completeness
            else "not available (the specialist failed)."
        ),
        context_review=(
            f"overall {context.overall_score}: {context.feedback}"
            if context
            else "no game context was given."
        ),
        contradictions=listed
        or ("(none)" if merged.contradictions else "(not available: the specialist failed)"),
    )


def _apply_cross_check(merged: BaseModel, review: BaseModel) -> PillarsEvaluation:
    assert isinstance(merged, PillarsEvaluation)
    assert isinstance(review, CrossCheckReview)
    update: dict[str, Any] = {
        "overall_score": review.overall_score,
        "summary": review.summary or merged.summary,
    }
    if merged.contradictions is not None:
        dismissed = set(review.dismissed_contradictions)
        kept = [
            c for i, c in enumerate(merged.contradictions.contradictions, 1) if i not in dismissed
        ]
        update["contradictions"] = merged.contradictions.model_copy(
            update={"contradictions": kept, "has_contradictions": bool(kept)}
        )
    return merged.model_copy(update=update)


PILLARS_REVIEW_PLAN = AgentPlan(
    operation_id="pillars.evaluate",
    agents=(
        AgentSpec(
            name="completeness",
            operation_id="pillars.evaluate_completeness",
            field="completeness",
            score="score",
        ),
        AgentSpec(
            name="contradictions",
            operation_id="pillars.evaluate_contradictions",
            field="contradictions",
            score=contradictions_score,
        ),
        AgentSpec(
            name="context",
            operation_id="pillars.evaluate_context",
            field="context_alignment",
            applies=_has_context,
            score="overall_score",
        ),
    ),
    score_field="overall_score",
    summary_field="summary",
    cross_check=CrossCheck(
        schema=CrossCheckReview, build_prompt=_cross_check_prompt, apply=_apply_cross_check
    ),
)
