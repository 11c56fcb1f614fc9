"""Statistics on inputs with known answers, and proven by simulation: the item-level
analysis holds its size, its intervals cover, and it detects at the power it predicts."""

from __future__ import annotations

import math
from statistics import fmean
from typing import Any

import numpy as np
import pytest

from backend.experiments.analysis import compare
from backend.experiments.stats import (
    bootstrap_mean,
    holm,
    items_needed,
    minimum_detectable_difference,
    paired_comparison,
    percentile,
    power,
    rank_biserial,
    sign_flip_p,
    wilcoxon_pratt_p,
)

METRIC = "missing_area_f1"


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
    assert comparison.p_value is None
    assert comparison.cohens_dz is None


def test_a_known_exact_case():
    # Differences 1..8, all positive: of the 2**8 sign flips only all-plus and all-minus
    # reach |mean| 4.5, so p = 2 / 256; Wilcoxon's exact p is the same here.
    comparison = paired_comparison([0.0] * 8, [1, 2, 3, 4, 5, 6, 7, 8])
    assert comparison is not None
    assert comparison.p_value == pytest.approx(2 / 256)
    assert comparison.p_wilcoxon == pytest.approx(2 / 256)
    assert comparison.rank_biserial == 1.0
    assert comparison.mean_difference == 4.5
    assert comparison.cohens_dz == pytest.approx(4.5 / math.sqrt(6.0))


def test_sign_flip_counts_ties_and_zeros():
    # [1, -1, 0]: flips give means 0 or +-2/3; |0| >= 0 for all 8 -> p = 1.
    assert sign_flip_p([1, -1, 0]) == 1.0
    # [1, 1, 0]: |mean| 2/3 is reached by ++ and -- (times the zero's 2 signs): 4 / 8.
    assert sign_flip_p([1, 1, 0]) == 0.5
    assert sign_flip_p([0, 0]) is None


def test_rank_biserial_counts_zeros():
    # 39 ties and one +1: the +1 has rank 40 of 1..40 (sum 820), zeros rank 1..39 (avg 20).
    assert rank_biserial([0.0] * 39 + [1.0]) == pytest.approx(40 / 820)
    assert rank_biserial([1.0, 2.0, -3.0]) == pytest.approx((1 + 2 - 3) / 6)


def test_wilcoxon_pratt_keeps_zeros_in_the_ranking():
    from scipy import stats

    diffs = [0.0, 0.0, 1.0, 2.0, 3.0, -0.5, 4.0, 5.0]
    expected = stats.wilcoxon(diffs, zero_method="pratt").pvalue
    assert wilcoxon_pratt_p(diffs) == pytest.approx(expected)
    assert wilcoxon_pratt_p([0.0, 0.0]) is None


def test_power_matches_the_textbook_normal_approximation_for_many_items():
    # n = 400, sd 1: MDE ~ (1.96 + 0.8416) / 20 = 0.1401 (t barely differs from z here).
    assert minimum_detectable_difference(1.0, 400) == pytest.approx(0.1401, abs=0.001)
    assert power(0.1401, 1.0, 400) == pytest.approx(0.8, abs=0.005)
    needed = items_needed(0.05, 0.3)
    assert needed is not None
    assert power(0.05, 0.3, needed) >= 0.8 > power(0.05, 0.3, needed - 1)


def test_holm_correction():
    # The textbook example: 0.01, 0.04, 0.03 with m = 3 -> 0.03, 0.06, 0.06.
    assert holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])
    assert holm([None, 0.02]) == [None, 0.02]
    assert holm([0.5, 0.6]) == [1.0, 1.0]


def test_percentile():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert math.isnan(percentile([], 95))


def _experiment(
    rng: np.random.Generator, *, items: int = 40, repeats: int = 3, difference: float = 0.0
) -> list[dict[str, Any]]:
    """Runs in the documented row format. Each item has its own difficulty, each (item,
    mode) its own lasting deviation, so repeats of an item are strongly correlated
    (intra-item correlation ~0.9): treating them as independent would inflate the test."""
    runs = []
    for item in range(items):
        base = rng.uniform(0.2, 0.8)
        for mode, shift in (("monolithic", 0.0), ("agentic", difference)):
            lasting = rng.normal(0.0, 0.15)
            for repeat in range(1, repeats + 1):
                value = base + shift + lasting + rng.normal(0.0, 0.05)
                runs.append(
                    {
                        "set_id": f"ps-{item:03d}",
                        "model": "m",
                        "mode": mode,
                        "repeat": repeat,
                        "status": "succeeded",
                        "wall_ms": 1000,
                        "metadata": None,
                        "score": {METRIC: value},
                    }
                )
    return runs


def _analyse(runs: list[dict[str, Any]]) -> Any:
    (row,) = compare(
        runs,
        primary=[METRIC],
        comparisons=[("monolithic", "agentic")],
        target_difference=0.05,
        metrics=[METRIC],
    )
    return row


def test_with_no_true_difference_the_test_holds_its_size_and_the_interval_covers():
    rng = np.random.default_rng(20261204)
    rows = [_analyse(_experiment(rng)) for _ in range(1000)]
    rejection = fmean(row.p_value < 0.05 for row in rows)
    coverage = fmean(row.ci_low <= 0.0 <= row.ci_high for row in rows)
    assert rejection <= 0.06, rejection
    assert coverage >= 0.93, coverage
    # The same data with repeats treated as independent units would reject far more
    # often: the reason the analysis averages per item.
    assert all(row.n_items == 40 for row in rows)


def test_with_a_planted_difference_it_detects_at_the_predicted_power():
    rng = np.random.default_rng(7)
    difference = 0.05
    rows = [_analyse(_experiment(rng, difference=difference)) for _ in range(600)]
    detected = fmean(row.p_value < 0.05 for row in rows)
    predicted = fmean(power(difference, row.sd_difference, row.n_items) for row in rows)
    assert 0.3 < predicted < 0.9  # a difference where power is informative
    assert detected == pytest.approx(predicted, abs=0.05)
    # The MDE the report prints is where the predicted power is 80%.
    assert fmean(row.mde for row in rows) > difference


def test_identical_repeats_change_nothing():
    rng = np.random.default_rng(3)
    once = _experiment(rng, repeats=1, difference=0.03)
    thrice = [run | {"repeat": repeat} for run in once for repeat in (1, 2, 3)]
    first, second = _analyse(once), _analyse(thrice)
    for field in (
        "n_items",
        "mean_difference",
        "ci_low",
        "ci_high",
        "p_value",
        "p_wilcoxon_pratt",
        "cohens_dz",
        "rank_biserial",
        "mde",
        "items_needed",
    ):
        assert getattr(first, field) == getattr(second, field), field
    assert second.within_item_sd_a == 0.0
