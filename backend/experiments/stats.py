"""Statistics of the report: bootstrap confidence intervals, the paired comparison of two
modes (paired bootstrap, Wilcoxon signed-rank, effect sizes) and Holm's correction.

Every resampling uses a fixed seed, so a report is byte-for-byte reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SEED",
    "Estimate",
    "PairedComparison",
    "bootstrap_mean",
    "holm",
    "paired_comparison",
    "percentile",
]

SEED = 20261129
RESAMPLES = 4000


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean(values: Sequence[float], *, confidence: float = 0.95) -> Estimate | None:
    """The mean and its percentile-bootstrap confidence interval; None without data."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(SEED)
    means = rng.choice(data, size=(RESAMPLES, data.size), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


@dataclass(frozen=True)
class PairedComparison:
    """``b - a`` over matched pairs (same set and repeat)."""

    n: int
    mean_difference: float
    low: float
    high: float
    #: Wilcoxon signed-rank, two-sided; None when every difference is zero.
    p_value: float | None
    #: Cohen's d_z: mean difference / standard deviation of the differences.
    cohens_dz: float | None
    #: Matched-pairs rank-biserial correlation (-1 .. 1).
    rank_biserial: float | None


def paired_comparison(a: Sequence[float], b: Sequence[float]) -> PairedComparison | None:
    from scipy import stats

    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        return None
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    estimate = bootstrap_mean(diff.tolist())
    assert estimate is not None
    nonzero = diff[diff != 0]
    p_value: float | None = None
    rank_biserial: float | None = None
    if nonzero.size:
        p_value = float(stats.wilcoxon(nonzero, zero_method="wilcox").pvalue)
        ranks = stats.rankdata(np.abs(nonzero))
        positive, total = ranks[nonzero > 0].sum(), ranks.sum()
        rank_biserial = float((2 * positive - total) / total)
    sd = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    dz = float(diff.mean() / sd) if sd > 0 else None
    return PairedComparison(
        n=int(diff.size),
        mean_difference=float(diff.mean()),
        low=estimate.low,
        high=estimate.high,
        p_value=p_value,
        cohens_dz=dz,
        rank_biserial=rank_biserial,
    )


def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (None stays None and is not counted)."""
    indexed = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    m = len(indexed)
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, (p, i) in enumerate(indexed):
        running = max(running, min(1.0, (m - rank) * p))
        adjusted[i] = running
    return adjusted


def percentile(values: Sequence[float], q: float) -> float:
    """Linear-interpolation percentile (``q`` in 0..100); NaN without data."""
    return float(np.percentile(np.asarray(values, dtype=float), q)) if values else math.nan
