"""Deterministic scoring of a ``PillarsEvaluation`` against a labelled pillar set.

Conventions (``datasets/README.md`` explains them for readers of the thesis):

- Contradictions are unordered pairs of pillar names, compared case- and whitespace-
  insensitively; a predicted pair naming a pillar that is not in the set, or a pillar with
  itself, can only be a false positive. Duplicates count once.
- Precision is 1 when nothing is predicted (no false claim), recall is 1 when nothing is
  labelled, F1 is their harmonic mean (0 when both are 0): a clean set answered with no
  contradiction scores 1, one answered with any scores 0.
- Missing areas: the predicted ``completeness.missing_areas[].area`` against the labels.
- A context misfit is found when its pillar's context score is under ``MISFIT_THRESHOLD``.
- A part that is null (its agent failed) scores 0 on its metrics; a failed run scores 0
  on every quality metric and is not schema-valid.
- On clean sets, a false positive is any predicted contradiction or any flagged misfit.
"""

from __future__ import annotations

from typing import Any

import pydantic
from pydantic import BaseModel

from backend.pillars.llm.schemas import PillarsEvaluation

from .dataset import PillarSetItem, normalize_name

__all__ = ["MISFIT_THRESHOLD", "QUALITY_METRICS", "CellScore", "score_cell"]

#: A pillar whose context-alignment score is under this is flagged as a misfit.
MISFIT_THRESHOLD = 50

QUALITY_METRICS = (
    "contradiction_precision",
    "contradiction_recall",
    "contradiction_f1",
    "missing_area_precision",
    "missing_area_recall",
    "missing_area_f1",
    "misfit_recall",
)


class CellScore(BaseModel):
    schema_valid: bool
    failed: bool
    degraded: bool
    contradiction_precision: float
    contradiction_recall: float
    contradiction_f1: float
    missing_area_precision: float
    missing_area_recall: float
    missing_area_f1: float
    #: None when the set labels no misfit.
    misfit_recall: float | None
    #: Clean sets only: did the answer claim a contradiction or a misfit?
    false_positive: bool | None
    #: The answer's own overall score (0-100), for reference.
    overall_score: int | None


def _prf(predicted: set[Any], labelled: set[Any]) -> tuple[float, float, float]:
    hits = len(predicted & labelled)
    precision = hits / len(predicted) if predicted else 1.0
    recall = hits / len(labelled) if labelled else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return round(precision, 6), round(recall, 6), round(f1, 6)


def _pair(a: str, b: str) -> frozenset[str]:
    return frozenset((normalize_name(a), normalize_name(b)))


def score_cell(
    item: PillarSetItem, results: dict[str, Any] | None, *, degraded: bool = False
) -> CellScore:
    """Score one run's results (None: the run failed)."""
    labels = item.labels
    misfits = {normalize_name(m.pillar) for m in labels.context_misfits}
    evaluation: PillarsEvaluation | None = None
    if results is not None:
        try:
            evaluation = PillarsEvaluation.model_validate(results)
        except pydantic.ValidationError:
            evaluation = None
    if evaluation is None:
        return CellScore(
            schema_valid=False,
            failed=True,
            degraded=degraded,
            **dict.fromkeys(QUALITY_METRICS[:-1], 0.0),
            misfit_recall=0.0 if misfits else None,
            false_positive=None,
            overall_score=None,
        )

    names = {normalize_name(p.name) for p in item.pillars}
    contradiction = (0.0, 0.0, 0.0)
    predicted_pairs: set[frozenset[str]] = set()
    if evaluation.contradictions is not None:
        predicted_pairs = {
            _pair(c.pillar_a, c.pillar_b) for c in evaluation.contradictions.contradictions
        }
        labelled_pairs = {_pair(*c.pillars) for c in labels.contradictions}
        # A pair with an unknown pillar or a pillar with itself can match no label.
        contradiction = _prf(predicted_pairs, labelled_pairs)

    areas = (0.0, 0.0, 0.0)
    if evaluation.completeness is not None:
        predicted_areas = {a.area for a in evaluation.completeness.missing_areas}
        areas = _prf(predicted_areas, set(labels.missing_areas))

    flagged: set[str] = set()
    if evaluation.context_alignment is not None:
        flagged = {
            normalize_name(p.pillar_name)
            for p in evaluation.context_alignment.pillars
            if p.score < MISFIT_THRESHOLD
        } & names
    misfit_recall = round(len(flagged & misfits) / len(misfits), 6) if misfits else None

    return CellScore(
        schema_valid=True,
        failed=False,
        degraded=degraded,
        contradiction_precision=contradiction[0],
        contradiction_recall=contradiction[1],
        contradiction_f1=contradiction[2],
        missing_area_precision=areas[0],
        missing_area_recall=areas[1],
        missing_area_f1=areas[2],
        misfit_recall=misfit_recall,
        false_positive=bool(predicted_pairs or flagged) if item.clean else None,
        overall_score=evaluation.overall_score,
    )
