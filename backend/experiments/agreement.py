"""Agreement between two labellings of the same items (the shipped and a blind second).

Reported in ``datasets/README.md``: Cohen's kappa on "has a contradiction", F1 of the
contradiction pairs (one labelling as reference; F1 is symmetric), kappa on "is a misfit"
per pillar, and the mean Jaccard of the must and of the must-and-should missing areas
(1 when both are empty).
"""

from __future__ import annotations

from collections.abc import Sequence
from statistics import fmean

from pydantic import BaseModel

from .dataset import PillarSetItem, normalize_name

__all__ = ["Agreement", "agreement", "cohen_kappa", "jaccard"]


class Agreement(BaseModel):
    items: int
    contradiction_kappa: float | None
    contradiction_pair_f1: float | None
    misfit_kappa: float | None
    must_jaccard: float
    must_should_jaccard: float
    #: Ids where the labellings differ, per part.
    differ: dict[str, list[str]]


def cohen_kappa(a: Sequence[bool], b: Sequence[bool]) -> float | None:
    """Cohen's kappa of two binary ratings; None when chance agreement is total."""
    n = len(a)
    if n == 0 or n != len(b):
        raise ValueError("two ratings of the same non-empty items")
    observed = sum(x == y for x, y in zip(a, b, strict=True)) / n
    pa, pb = sum(a) / n, sum(b) / n
    expected = pa * pb + (1 - pa) * (1 - pb)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def jaccard(a: set[object], b: set[object]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def _pairs(item: PillarSetItem) -> set[frozenset[str]]:
    return {frozenset(normalize_name(n) for n in c.pillars) for c in item.labels.contradictions}


def _misfits(item: PillarSetItem) -> set[str]:
    return {normalize_name(m.pillar) for m in item.labels.context_misfits}


def agreement(first: list[PillarSetItem], second: list[PillarSetItem]) -> Agreement:
    by_id = {item.id: item for item in second}
    if set(by_id) != {item.id for item in first}:
        raise ValueError("the two labellings must hold the same item ids")
    pairs = [(item, by_id[item.id]) for item in first]
    has_a = [bool(a.labels.contradictions) for a, _ in pairs]
    has_b = [bool(b.labels.contradictions) for _, b in pairs]
    hits = sum(len(_pairs(a) & _pairs(b)) for a, b in pairs)
    total = sum(len(_pairs(a)) + len(_pairs(b)) for a, b in pairs)
    misfit_a = [normalize_name(p.name) in _misfits(a) for a, _ in pairs for p in a.pillars]
    misfit_b = [normalize_name(p.name) in _misfits(b) for a, b in pairs for p in a.pillars]

    def must(item: PillarSetItem) -> set[object]:
        return set(item.labels.missing_areas)

    def must_should(item: PillarSetItem) -> set[object]:
        return set(item.labels.missing_areas) | set(item.labels.missing_should)

    return Agreement(
        items=len(pairs),
        contradiction_kappa=_round(cohen_kappa(has_a, has_b)),
        contradiction_pair_f1=round(2 * hits / total, 3) if total else None,
        misfit_kappa=_round(cohen_kappa(misfit_a, misfit_b)),
        must_jaccard=round(fmean(jaccard(must(a), must(b)) for a, b in pairs), 3),
        must_should_jaccard=round(
            fmean(jaccard(must_should(a), must_should(b)) for a, b in pairs), 3
        ),
        differ={
            "contradictions": [a.id for a, b in pairs if _pairs(a) != _pairs(b)],
            "misfits": [a.id for a, b in pairs if _misfits(a) != _misfits(b)],
            "must": [a.id for a, b in pairs if must(a) != must(b)],
        },
    )


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)
