"""Deterministic scoring of a ``PillarsEvaluation`` against a labelled pillar set.

The same rules for both modes (``datasets/README.md`` explains them for the thesis):

- **Contradictions**: only claims of severity medium or high count (both modes' prompts
  define the scale: "low" is a tension a designer can balance, which the labels leave
  out). Detection is pair precision and recall on sets with a labelled contradiction;
  false alarms are the share of sets without one on which any is claimed.
- **Missing areas**: recall of the must areas, precision against must and should.
- **Misfits**: a pillar is flagged when its context score is under ``MISFIT_THRESHOLD``
  (the prompts say so); precision and recall of the flags, and the AUROC of the scores
  (threshold-free) on sets with a misfit and a fitting pillar.
- **Names** resolve loosely (``names.py``); the share of references that do not is its
  own metric, ``unresolved_names``.
- **No answer is the worst answer**: a failed run, or a part that is null or omitted
  although the request asked for it, scores a miss on every metric it should have
  answered (precision, recall, F1 and AUROC 0) and a false alarm where there was nothing
  to find. The failure rate is reported beside.

Undefined values (``None``: precision when nothing was claimed, recall when nothing is
labelled) are left out of means.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import pydantic
from pydantic import BaseModel

from backend.pillars.llm.schemas import PillarsEvaluation

from .dataset import PillarSetItem, normalize_name
from .names import resolve

__all__ = [
    "COUNTED_SEVERITIES",
    "MISFIT_THRESHOLD",
    "QUALITY_METRICS",
    "CellScore",
    "score_cell",
]

#: A pillar whose context-alignment score is under this is flagged as a misfit.
MISFIT_THRESHOLD = 50
COUNTED_SEVERITIES = frozenset({"medium", "high"})

QUALITY_METRICS = (
    "contradiction_precision",
    "contradiction_recall",
    "contradiction_false_alarm",
    "missing_area_precision",
    "missing_area_recall",
    "missing_area_f1",
    "misfit_precision",
    "misfit_recall",
    "misfit_auroc",
    "false_positive",
    "unresolved_names",
)


class CellScore(BaseModel):
    schema_valid: bool
    failed: bool
    degraded: bool
    #: Sets with a labelled contradiction only.
    contradiction_precision: float | None
    contradiction_recall: float | None
    #: Sets without a labelled contradiction only: 1.0 when any is claimed.
    contradiction_false_alarm: float | None
    missing_area_precision: float | None
    missing_area_recall: float | None
    missing_area_f1: float
    misfit_precision: float | None
    misfit_recall: float | None
    misfit_auroc: float | None
    #: Clean sets only: 1.0 when the answer claims a contradiction or flags a misfit.
    false_positive: float | None
    #: Share of the answer's pillar references that name no pillar of the set.
    unresolved_names: float | None
    overall_score: int | None


def _ratio(hits: int, total: int) -> float | None:
    return round(hits / total, 6) if total else None


def _f1(precision: float | None, recall: float | None, *, nothing_either: bool) -> float:
    if precision is None or recall is None:
        return 1.0 if nothing_either else 0.0
    return round(2 * precision * recall / (precision + recall), 6) if precision + recall else 0.0


def _auroc(scores: dict[str, int], positives: set[str]) -> float | None:
    """Probability that a misfit scores lower than a fitting pillar (ties count half)."""
    bad = [s for name, s in scores.items() if name in positives]
    good = [s for name, s in scores.items() if name not in positives]
    if not bad or not good:
        return None
    wins = sum((b < g) + 0.5 * (b == g) for b in bad for g in good)
    return round(wins / (len(bad) * len(good)), 6)


class _Resolver:
    """Resolves references to the set's pillars and counts the ones that do not."""

    def __init__(self, item: PillarSetItem) -> None:
        self.names = [p.name for p in item.pillars]
        self.seen = 0
        self.unresolved = 0

    def __call__(self, reference: str) -> str | None:
        self.seen += 1
        name = resolve(reference, self.names)
        if name is None:
            self.unresolved += 1
            return None
        return normalize_name(name)


def _evaluation(results: dict[str, Any] | None) -> PillarsEvaluation | None:
    if results is None:
        return None
    try:
        return PillarsEvaluation.model_validate(results)
    except pydantic.ValidationError:
        return None


def score_cell(
    item: PillarSetItem, results: dict[str, Any] | None, *, degraded: bool = False
) -> CellScore:
    """Score one run's results (None: the run failed)."""
    labels = item.labels
    evaluation = _evaluation(results)
    resolver = _Resolver(item)
    labelled_pairs = {
        frozenset(normalize_name(n) for n in c.pillars) for c in labels.contradictions
    }
    must, should = set(labels.missing_areas), set(labels.missing_should)
    misfits = {normalize_name(m.pillar) for m in labels.context_misfits}
    contradictions = evaluation.contradictions if evaluation else None
    completeness = evaluation.completeness if evaluation else None
    # The request always carries a context, so a null context part is a missing answer.
    context = evaluation.context_alignment if evaluation else None

    claimed: set[frozenset[str | None]] | None = None
    if contradictions is not None:
        claimed = {
            frozenset((resolver(c.pillar_a), resolver(c.pillar_b)))
            for c in contradictions.contradictions
            if c.severity in COUNTED_SEVERITIES
        }
    flagged: set[str] | None = None
    context_scores: dict[str, int] = {}
    if context is not None:
        for pillar in context.pillars:
            name = resolver(pillar.pillar_name)
            if name is not None:
                context_scores.setdefault(name, pillar.score)
        # A pillar the answer does not score is scored as fitting: it was not flagged.
        context_scores = {
            normalize_name(n): context_scores.get(normalize_name(n), 100) for n in resolver.names
        }
        flagged = {name for name, score in context_scores.items() if score < MISFIT_THRESHOLD}

    score: dict[str, Any] = {}
    score |= _contradiction_scores(claimed, labelled_pairs)
    score |= _area_scores(
        {a.area for a in completeness.missing_areas} if completeness else None, must, should
    )
    score |= _misfit_scores(flagged, context_scores, misfits)
    if item.clean:
        score["false_positive"] = (
            1.0 if claimed is None or flagged is None else float(bool(claimed or flagged))
        )
    else:
        score["false_positive"] = None
    answered = evaluation is not None
    return CellScore(
        schema_valid=answered,
        failed=not answered,
        degraded=degraded,
        unresolved_names=_ratio(resolver.unresolved, resolver.seen) if answered else None,
        overall_score=evaluation.overall_score if evaluation else None,
        **score,
    )


def _contradiction_scores(
    claimed: set[frozenset[str | None]] | None, labelled: set[frozenset[str]]
) -> dict[str, float | None]:
    if not labelled:
        alarm = 1.0 if claimed is None else float(bool(claimed))
        return {
            "contradiction_precision": None,
            "contradiction_recall": None,
            "contradiction_false_alarm": alarm,
        }
    if claimed is None:
        return {
            "contradiction_precision": 0.0,
            "contradiction_recall": 0.0,
            "contradiction_false_alarm": None,
        }
    # A pair with an unresolved name or a pillar with itself matches no label.
    hits = len({pair for pair in claimed if None not in pair and len(pair) == 2} & labelled)
    return {
        "contradiction_precision": _ratio(hits, len(claimed)),
        "contradiction_recall": _ratio(hits, len(labelled)),
        "contradiction_false_alarm": None,
    }


def _area_scores(
    predicted: Iterable[Any] | None, must: set[Any], should: set[Any]
) -> dict[str, float | None]:
    if predicted is None:
        worst = 0.0 if must else None
        return {
            "missing_area_precision": 0.0,
            "missing_area_recall": worst,
            "missing_area_f1": 0.0,
        }
    named = set(predicted)
    precision = _ratio(len(named & (must | should)), len(named))
    recall = _ratio(len(named & must), len(must))
    return {
        "missing_area_precision": precision,
        "missing_area_recall": recall,
        "missing_area_f1": _f1(precision, recall, nothing_either=not named and not must),
    }


def _misfit_scores(
    flagged: set[str] | None, scores: dict[str, int], misfits: set[str]
) -> dict[str, float | None]:
    if flagged is None:
        worst = 0.0 if misfits else None
        return {"misfit_precision": 0.0, "misfit_recall": worst, "misfit_auroc": worst}
    return {
        "misfit_precision": _ratio(len(flagged & misfits), len(flagged)),
        "misfit_recall": _ratio(len(flagged & misfits), len(misfits)),
        "misfit_auroc": _auroc(scores, misfits),
    }
