"""The pillar review split across three specialists: completeness, contradictions, context."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from backend.pillars.llm import prompts
from backend.pillars.llm.prompts import format_context, format_pillars
from backend.pillars.llm.schemas import (
    CompletenessEvaluation,
    ContextEvaluation,
    ContradictionsEvaluation,
    CrossCheckReview,
    PillarsEvaluation,
)

from .base import AgentPlan, AgentSpec, CrossCheck, Findings

__all__ = ["PILLARS_REVIEW_PLAN", "merge_review"]

_SEVERITY_PENALTY = {"low": 5, "medium": 12, "high": 25}


def _has_context(data: Mapping[str, Any]) -> bool:
    context = data.get("context") or {}
    return any(context.values()) if isinstance(context, Mapping) else False


def _contradictions_score(review: ContradictionsEvaluation) -> int:
    penalty = sum(_SEVERITY_PENALTY[c.severity] for c in review.contradictions)
    return max(0, 100 - penalty)


def merge_review(findings: Findings, data: Mapping[str, Any]) -> PillarsEvaluation:
    """Deterministic merge: each specialist's result in its slot, the overall score the
    mean of the parts. A missing part (agent failed) is an empty, zero-score placeholder."""
    completeness = (
        CompletenessEvaluation.model_validate(findings["completeness"])
        if "completeness" in findings
        else CompletenessEvaluation(
            is_complete=False, score=0, covered_areas=[], missing_areas=[], feedback=""
        )
    )
    contradictions = (
        ContradictionsEvaluation.model_validate(findings["contradictions"])
        if "contradictions" in findings
        else ContradictionsEvaluation(has_contradictions=False, contradictions=[], feedback="")
    )
    context = (
        ContextEvaluation.model_validate(findings["context"]) if "context" in findings else None
    )
    parts = []
    if "completeness" in findings:
        parts.append(completeness.score)
    if "contradictions" in findings:
        parts.append(_contradictions_score(contradictions))
    if context is not None:
        parts.append(context.overall_score)
    summary = " ".join(
        text
        for text in (completeness.feedback, contradictions.feedback, context and context.feedback)
        if text
    )
    return PillarsEvaluation(
        completeness=completeness,
        contradictions=contradictions,
        context_alignment=context,
        overall_score=round(sum(parts) / len(parts)) if parts else 0,
        summary=summary[:2000],
    )


def _cross_check_prompt(merged: BaseModel, findings: Findings, data: Mapping[str, Any]) -> str:
    assert isinstance(merged, PillarsEvaluation)
    listed = "\n".join(
        f"{i}. {c.pillar_a} vs {c.pillar_b} ({c.severity}): {c.explanation}"
        for i, c in enumerate(merged.contradictions.contradictions, 1)
    )
    context_review = (
        f"overall {merged.context_alignment.overall_score}: {merged.context_alignment.feedback}"
        if merged.context_alignment
        else "no game context was given."
    )
    return prompts.CROSS_CHECK.format(
        context=format_context(data.get("context")),
        pillars=format_pillars(list(data["pillars"])),
        completeness_score=merged.completeness.score,
        covered=", ".join(merged.completeness.covered_areas) or "none",
        missing=", ".join(a.area for a in merged.completeness.missing_areas) or "none",
        context_review=context_review,
        contradictions=listed or "(none)",
    )


def _apply_cross_check(merged: BaseModel, review: BaseModel) -> PillarsEvaluation:
    assert isinstance(merged, PillarsEvaluation)
    assert isinstance(review, CrossCheckReview)
    dismissed = set(review.dismissed_contradictions)
    kept = [c for i, c in enumerate(merged.contradictions.contradictions, 1) if i not in dismissed]
    contradictions = merged.contradictions.model_copy(
        update={"contradictions": kept, "has_contradictions": bool(kept)}
    )
    return merged.model_copy(
        update={
            "contradictions": contradictions,
            "overall_score": review.overall_score,
            "summary": review.summary or merged.summary,
        }
    )


PILLARS_REVIEW_PLAN = AgentPlan(
    agents=(
        AgentSpec(name="completeness", operation_id="pillars.evaluate_completeness"),
        AgentSpec(name="contradictions", operation_id="pillars.evaluate_contradictions"),
        AgentSpec(name="context", operation_id="pillars.evaluate_context", applies=_has_context),
    ),
    merge=merge_review,
    cross_check=CrossCheck(
        schema=CrossCheckReview, build_prompt=_cross_check_prompt, apply=_apply_cross_check
    ),
)
