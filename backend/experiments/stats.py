"""Statistics of the report, with the item (pillar set) as the unit of analysis.

Repeats of one item are not independent evidence: the callers average them per item
first, and every test, interval and effect size here takes one value (or one paired
difference) per item. The primary test is a paired sign-flip permutation test of the mean
difference (exact up to ``EXACT_UP_TO`` items, else ``DRAWS`` seeded random sign vectors);
Wilcoxon signed-rank with Pratt's zero handling is the stated secondary. Power comes from
the noncentral t distribution of the paired t statistic, which the permutation test
matches closely; ``tests/test_stats.py`` checks size, coverage and power by simulation.

Every resampling uses a fixed seed, so a report is byte-for-byte reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

__all__ = [
    "ALPHA",
    "DRAWS",
    "EXACT_UP_TO",
    "POWER",
    "PRIMARY_TEST",
    "RESAMPLES",
    "SECONDARY_TEST",
    "SEED",
    "Estimate",
    "PairedComparison",
    "bootstrap_mean",
    "holm",
    "items_needed",
    "minimum_detectable_difference",
    "paired_comparison",
    "percentile",
    "power",
    "rank_biserial",
    "sign_flip_p",
    "wilcoxon_pratt_p",
]

SEED = 20261129
RESAMPLES = 4000
DRAWS = 10_000
EXACT_UP_TO = 16  # 2**16 sign vectors: exact enumeration is cheaper than sampling
ALPHA = 0.05
POWER = 0.8
PRIMARY_TEST = (
    f"paired sign-flip permutation test of the mean item difference, two-sided "
    f"(exact up to {EXACT_UP_TO} items, else {DRAWS:,} seeded draws; p = (k + 1) / (draws + 1))"
)
SECONDARY_TEST = "Wilcoxon signed-rank, Pratt's zero handling (zeros ranked, then dropped)"


@dataclass(frozen=True)
class Estimate:
    mean: float
    low: float
    high: float
    n: int


def bootstrap_mean(values: Sequence[float], *, confidence: float = 0.95) -> Estimate | None:
    """The mean and its percentile-bootstrap confidence interval; None without data.

    Resamples the values given: pass one value per item and it resamples items."""
    data = np.asarray(values, dtype=float)
    if data.size == 0:
        return None
    rng = np.random.default_rng(SEED)
    means = rng.choice(data, size=(RESAMPLES, data.size), replace=True).mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return Estimate(float(data.mean()), float(low), float(high), int(data.size))


@lru_cache(maxsize=64)
def _signs(n: int) -> np.ndarray:
    """The sign vectors the test flips with: all 2**n of them, or DRAWS seeded ones."""
    if n <= EXACT_UP_TO:
        codes = np.arange(2**n, dtype=np.int64)[:, None] >> np.arange(n, dtype=np.int64)
        return 1 - 2 * (codes & 1).astype(np.int8)
    rng = np.random.default_rng(SEED)
    return (1 - 2 * rng.integers(0, 2, size=(DRAWS, n))).astype(np.int8)


def sign_flip_p(differences: Sequence[float]) -> float | None:
    """Two-sided p of the mean difference being zero, by flipping the signs of the
    per-item differences; None when every difference is zero."""
    diff = np.asarray(differences, dtype=float)
    if diff.size == 0 or not np.any(diff):
        return None
    signs = _signs(diff.size)
    observed = abs(diff.mean())
    flipped = np.abs(signs @ diff) / diff.size
    # A relative tolerance: sums that are equal in exact arithmetic count as "as extreme".
    extreme = int(np.count_nonzero(flipped >= observed * (1 - 1e-12)))
    if diff.size <= EXACT_UP_TO:
        return extreme / len(signs)
    return (extreme + 1) / (len(signs) + 1)


def wilcoxon_pratt_p(differences: Sequence[float]) -> float | None:
    from scipy import stats

    diff = np.asarray(differences, dtype=float)
    if not np.any(diff):
        return None
    return float(stats.wilcoxon(diff, zero_method="pratt", method="auto").pvalue)


def rank_biserial(differences: Sequence[float]) -> float | None:
    """Matched-pairs rank-biserial correlation that counts zeros: (R+ - R-) / all ranks,
    zeros ranked with the rest (so 39 ties and one +1 give 0.05, not 1)."""
    from scipy import stats

    diff = np.asarray(differences, dtype=float)
    if diff.size == 0:
        return None
    ranks = stats.rankdata(np.abs(diff))
    return float((ranks[diff > 0].sum() - ranks[diff < 0].sum()) / ranks.sum())


def power(difference: float, sd: float, n: int, alpha: float = ALPHA) -> float:
    """Power of the two-sided paired test to detect ``difference`` with n items."""
    from scipy import stats

    if n < 2 or sd <= 0:
        return math.nan
    df = n - 1
    critical = stats.t.ppf(1 - alpha / 2, df)
    shift = difference / sd * math.sqrt(n)
    upper_tail = float(stats.nct.sf(critical, df, shift))
    # scipy returns NaN for a lower tail that underflows far from the centre: it is 0.
    lower_tail = float(np.nan_to_num(stats.nct.cdf(-critical, df, shift), nan=0.0))
    return upper_tail + lower_tail


def minimum_detectable_difference(sd: float, n: int, target: float = POWER) -> float | None:
    """The smallest mean difference detected with ``target`` power (None: undefined)."""
    from scipy import optimize

    if n < 2 or not sd > 0:
        return None
    # The MDE is about 2.8 sd / sqrt(n) at 80% for large n, more for tiny n: 50 sd brackets it.
    return float(optimize.brentq(lambda d: power(d, sd, n) - target, 1e-12, 50 * sd))


def items_needed(
    difference: float, sd: float, target: float = POWER, *, limit: int = 1_000_000
) -> int | None:
    """How many items detect ``difference`` with ``target`` power, given the sd of the
    per-item differences; None when it is over ``limit``."""
    from scipy import stats

    if difference <= 0 or not sd > 0:
        return None
    # The normal approximation is a lower bound; the t correction adds a few items.
    z = stats.norm.ppf(1 - ALPHA / 2) + stats.norm.ppf(target)
    n = max(2, math.ceil((z * sd / difference) ** 2))
    if n > limit:
        return None
    while power(difference, sd, n) < target:
        n += 1
    return n


@dataclass(frozen=True)
class PairedComparison:
    """``b - a`` over items (each value an item's mean over its repeats)."""

    n: int
    mean_difference: float
    low: float
    high: float
    #: The primary test (sign-flip permutation); None when every difference is zero.
    p_value: float | None
    #: The secondary test (Wilcoxon, Pratt).
    p_wilcoxon: float | None
    sd_difference: float
    #: Cohen's d_z: mean difference / sd of the differences.
    cohens_dz: float | None
    rank_biserial: float | None
    #: Smallest difference this n and sd detect with 80% power.
    mde: float | None


def paired_comparison(a: Sequence[float], b: Sequence[float]) -> PairedComparison | None:
    if len(a) != len(b):
        raise ValueError("paired samples must have the same length")
    if not a:
        return None
    diff = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    estimate = bootstrap_mean(diff.tolist())
    assert estimate is not None
    sd = float(diff.std(ddof=1)) if diff.size > 1 else 0.0
    return PairedComparison(
        n=int(diff.size),
        mean_difference=float(diff.mean()),
        low=estimate.low,
        high=estimate.high,
        p_value=sign_flip_p(diff.tolist()),
        p_wilcoxon=wilcoxon_pratt_p(diff.tolist()),
        sd_difference=sd,
        cohens_dz=float(diff.mean() / sd) if sd > 0 else None,
        rank_biserial=rank_biserial(diff.tolist()),
        mde=minimum_detectable_difference(sd, int(diff.size)),
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
