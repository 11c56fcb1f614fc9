"""Deterministic scoring of a ``PillarsEvaluation`` against a labelled pillar set.

Conventions (``datasets/README.md`` explains them for readers of the thesis):

- Contradictions are unordered pairs of pillar names, compared case- and whitespace-
  insensitively; a predicted pair naming a pillar that is not in the set, or a pillar with
  itself, can only be a false positive. Duplicates count once.
- Precision is undefined (``None``, left out of means) when nothing is predicted, recall
  when nothing is labelled; F1 is 1 when both are empty (a correct abstention), 0 when
  only one is, their harmonic mean otherwise. So a clean set answered with no
  contradiction scores F1 1, one answered with any scores 0, and precision and recall
  average only over the sets where they mean something.
- Missing areas: the predicted ``completeness.missing_areas[].area``; recall against the
  labelled must areas, precision against must and should (version 1 has no should).
- A context misfit is found when its pillar's context score is under ``MISFIT_THRESHOLD``.
- A part that is null (its agent failed) predicts nothing and scores F1 0 (recall 0
  where labels exist); a failed run does so for every part and is not schema-valid.
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
    #: None where undefined (precision: nothing predicted; recall: nothing labelled).
    contradiction_precision: float | None
    contradiction_recall: float | None
    contradiction_f1: float
    missing_area_precision: float | None
    missing_area_recall: float | None
    missing_area_f1: float
    #: None when the set labels no misfit.
    misfit_recall: float | None
    #: Clean sets only: did the answer claim a contradiction or a misfit?
    false_positive: bool | None
    #: The answer's own overall score (0-100), for reference.
    overall_score: int | None


PRF = tuple[float | None, float | None, float]


def _prf(predicted: set[Any], labelled: set[Any]) -> PRF:
    return _graded(predicted, labelled, set())


def _graded(predicted: set[Any], must: set[Any], should: set[Any]) -> PRF:
    """Recall of the must areas; precision against must and should together (naming a
    should area is no false alarm, omitting one no miss)."""
    allowed = must | should
    precision = round(len(predicted & allowed) / len(predicted), 6) if predicted else None
    recall = round(len(predicted & must) / len(must), 6) if must else None
    if precision is None or recall is None:
        return precision, recall, 1.0 if precision is None and recall is None else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return precision, recall, round(f1, 6)


def _unanswered(labelled: set[Any]) -> PRF:
    """A part with no answer (its agent failed, or the run did)."""
    return None, 0.0 if labelled else None, 0.0


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
    labelled_pairs = {_pair(*c.pillars) for c in labels.contradictions}
    labelled_areas = set(labels.missing_areas)
    names = {normalize_name(p.name) for p in item.pillars}
    # A part without an answer (its agent failed, or the whole run) scores as unanswered.
    contradiction, areas = _unanswered(labelled_pairs), _unanswered(labelled_areas)
    predicted_pairs: set[frozenset[str]] = set()
    flagged: set[str] = set()
    if evaluation is not None and evaluation.contradictions is not None:
        predicted_pairs = {
            _pair(c.pillar_a, c.pillar_b) for c in evaluation.contradictions.contradictions
        }
        # A pair with an unknown pillar or a pillar with itself can match no label.
        contradiction = _prf(predicted_pairs, labelled_pairs)
    if evaluation is not None and evaluation.completeness is not None:
        predicted_areas = {a.area for a in evaluation.completeness.missing_areas}
        areas = _graded(predicted_areas, labelled_areas, set(labels.missing_should))
    if evaluation is not None and evaluation.context_alignment is not None:
        flagged = {
            normalize_name(p.pillar_name)
            for p in evaluation.context_alignment.pillars
            if p.score < MISFIT_THRESHOLD
        } & names
    answered = evaluation is not None
    return CellScore(
        schema_valid=answered,
        failed=not answered,
        degraded=degraded,
        contradiction_precision=contradiction[0],
        contradiction_recall=contradiction[1],
        contradiction_f1=contradiction[2],
        missing_area_precision=areas[0],
        missing_area_recall=areas[1],
        missing_area_f1=areas[2],
        misfit_recall=round(len(flagged & misfits) / len(misfits), 6) if misfits else None,
        false_positive=bool(predicted_pairs or flagged) if item.clean and answered else None,
        overall_score=evaluation.overall_score if evaluation is not None else None,
    )
