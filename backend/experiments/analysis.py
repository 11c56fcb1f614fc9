"""The comparison of execution modes, item by item, as structured results.

Runs are averaged per item (pillar set) first: one model's mode has one value per item and
metric, the mean over its repeats (and a within-item sd). Each pre-registered comparison
(mode a vs mode b, per model) pairs the items both modes answered and tests the mean
difference (``stats.paired_comparison``). The confirmatory family is every primary metric
x comparison x model, Holm-corrected together; every other metric is exploratory and
reported with its unadjusted p. ``report.py`` renders these rows; ``report.json`` holds
them as they are.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from statistics import fmean, stdev
from typing import Any, Literal

from pydantic import BaseModel

from .scoring import QUALITY_METRICS
from .stats import PRIMARY_TEST, SECONDARY_TEST, holm, items_needed, paired_comparison

__all__ = [
    "COST_METRICS",
    "PRIMARY_DEFAULT",
    "ComparisonRow",
    "compare",
    "item_means",
    "item_values",
    "metric_value",
    "within_item_sd",
]

Run = dict[str, Any]
Family = Literal["confirmatory", "exploratory"]
#: The confirmatory metrics unless an experiment names others (``--primary``): detection
#: and false alarms of contradictions, missing areas, and misfits ranked by score.
PRIMARY_DEFAULT = (
    "contradiction_recall",
    "contradiction_false_alarm",
    "missing_area_f1",
    "misfit_auroc",
)
COST_METRICS = ("latency_ms", "total_tokens")


def metric_value(run: Run, metric: str) -> float | None:
    if metric == "latency_ms":
        return float(run["wall_ms"])
    if metric in ("input_tokens", "output_tokens", "total_tokens"):
        value = (run["metadata"] or {}).get("token_usage", {}).get(metric)
        return None if value is None else float(value)
    value = run["score"].get(metric)
    return None if value is None else float(value)


def item_values(runs: Iterable[Run], metric: str) -> dict[str, list[float]]:
    """Per item (set id): the metric's defined values over its repeats."""
    values: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        value = metric_value(run, metric)
        if value is not None:
            values[run["set_id"]].append(value)
    return dict(values)


def item_means(runs: Iterable[Run], metric: str) -> dict[str, float]:
    return _means(item_values(runs, metric))


def _means(values: dict[str, list[float]]) -> dict[str, float]:
    return {item: _mean(repeats) for item, repeats in values.items()}


def _mean(values: list[float]) -> float:
    # Identical repeats average to their value exactly, so repeating a run changes nothing.
    return values[0] if min(values) == max(values) else fmean(values)


def within_item_sd(values: dict[str, list[float]]) -> float | None:
    """The mean, over items with two or more repeats, of the sd across repeats."""
    sds = [stdev(v) for v in values.values() if len(v) > 1]
    return fmean(sds) if sds else None


class ComparisonRow(BaseModel):
    model: str
    a: str
    b: str
    metric: str
    family: Family
    n_items: int
    mean_a: float | None
    mean_b: float | None
    #: b - a, over items.
    mean_difference: float | None
    ci_low: float | None
    ci_high: float | None
    test: str = PRIMARY_TEST
    p_value: float | None
    #: Holm over the confirmatory family; None for exploratory rows.
    p_holm: float | None
    secondary_test: str = SECONDARY_TEST
    p_wilcoxon_pratt: float | None
    cohens_dz: float | None
    rank_biserial: float | None
    sd_difference: float | None
    within_item_sd_a: float | None
    within_item_sd_b: float | None
    #: Smallest mean difference detected with 80% power at this n and sd.
    mde: float | None
    #: Items needed to detect ``target_difference`` with 80% power at this sd.
    target_difference: float
    items_needed: int | None


def compare(
    runs: Sequence[Run],
    *,
    primary: Sequence[str],
    comparisons: Sequence[tuple[str, str]],
    target_difference: float,
    metrics: Sequence[str] | None = None,
) -> list[ComparisonRow]:
    """Every comparison of every metric (or only ``metrics``), primary metrics first."""
    every = [*primary, *(m for m in (*QUALITY_METRICS, *COST_METRICS) if m not in primary)]
    metrics = every if metrics is None else [m for m in every if m in metrics]
    rows: list[ComparisonRow] = []
    for model in sorted({r["model"] for r in runs}):
        for a, b in comparisons:
            left = [r for r in runs if r["model"] == model and r["mode"] == a]
            right = [r for r in runs if r["model"] == model and r["mode"] == b]
            if not left or not right:
                continue
            for metric in metrics:
                family: Family = "confirmatory" if metric in primary else "exploratory"
                rows.append(_row(model, a, b, metric, family, left, right, target_difference))
    confirmatory = [row for row in rows if row.family == "confirmatory"]
    for row, adjusted in zip(confirmatory, holm([r.p_value for r in confirmatory]), strict=True):
        row.p_holm = adjusted
    return rows


def _row(
    model: str,
    a: str,
    b: str,
    metric: str,
    family: Family,
    left: list[Run],
    right: list[Run],
    target: float,
) -> ComparisonRow:
    values_a, values_b = item_values(left, metric), item_values(right, metric)
    means_a, means_b = _means(values_a), _means(values_b)
    items = sorted(means_a.keys() & means_b.keys())
    comparison = paired_comparison([means_a[i] for i in items], [means_b[i] for i in items])
    sd = comparison.sd_difference if comparison else None
    return ComparisonRow(
        model=model,
        a=a,
        b=b,
        metric=metric,
        family=family,
        n_items=len(items),
        mean_a=fmean(means_a[i] for i in items) if items else None,
        mean_b=fmean(means_b[i] for i in items) if items else None,
        mean_difference=comparison.mean_difference if comparison else None,
        ci_low=comparison.low if comparison else None,
        ci_high=comparison.high if comparison else None,
        p_value=comparison.p_value if comparison else None,
        p_holm=None,
        p_wilcoxon_pratt=comparison.p_wilcoxon if comparison else None,
        cohens_dz=comparison.cohens_dz if comparison else None,
        rank_biserial=comparison.rank_biserial if comparison else None,
        sd_difference=sd,
        within_item_sd_a=within_item_sd(values_a),
        within_item_sd_b=within_item_sd(values_b),
        mde=comparison.mde if comparison else None,
        target_difference=target,
        # The target is a difference in a quality score, not in milliseconds or tokens.
        items_needed=items_needed(target, sd) if sd and metric not in COST_METRICS else None,
    )
