"""Statistics on inputs with known answers."""

from __future__ import annotations

import math

import pytest

from backend.experiments.stats import bootstrap_mean, holm, paired_comparison, percentile


def test_bootstrap_of_a_constant_is_the_constant():
    estimate = bootstrap_mean([0.5] * 20)
    assert estimate is not None
    assert (estimate.mean, estimate.low, estimate.high, estimate.n) == (0.5, 0.5, 0.5, 20)
    assert bootstrap_mean([]) is None


def test_bootstrap_interval_contains_the_mean_and_is_reproducible():
    values = [0, 1, 0, 1, 1, 1, 0, 1, 1, 1]
    first, second = bootstrap_mean(values), bootstrap_mean(values)
    assert first == second
    assert first is not None
    assert first.low < first.mean == 0.7 < first.high


def test_a_paired_difference_of_exactly_zero():
    comparison = paired_comparison([0.2, 0.5, 0.9], [0.2, 0.5, 0.9])
    assert comparison is not None
    assert comparison.mean_difference == 0.0
    assert (comparison.low, comparison.high) == (0.0, 0.0)
    assert comparison.p_value is None  # Wilcoxon is undefined without a nonzero difference
    assert comparison.cohens_dz is None


def test_a_known_wilcoxon_case():
    # Differences 1..8, all positive: W- = 0, exact two-sided p = 2 / 2**8.
    a = [0.0] * 8
    b = [1, 2, 3, 4, 5, 6, 7, 8]
    comparison = paired_comparison(a, b)
    assert comparison is not None
    assert comparison.p_value == pytest.approx(2 / 256)
    assert comparison.rank_biserial == 1.0
    assert comparison.mean_difference == 4.5
    assert comparison.cohens_dz == pytest.approx(4.5 / math.sqrt(6.0))


def test_holm_correction():
    # The textbook example: 0.01, 0.04, 0.03 with m = 3 -> 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([None, 0.02]) == [None, 0.02]
    assert holm([0.5, 0.6]) == [1.0, 1.0]


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert math.isnan(percentile([], 95))
