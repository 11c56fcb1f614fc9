"""The report's tables, computed from ``runs.jsonl`` only (so a replay reproduces them
byte for byte): per mode and model, the paired agentic-vs-monolithic comparison, and the
per-agent attribution of agentic runs."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .scoring import QUALITY_METRICS
from .stats import bootstrap_mean, holm, paired_comparison, percentile

__all__ = [
    "NA",
    "Table",
    "agent_table",
    "group_table",
    "metric_values",
    "node_name",
    "paired_table",
    "per_group",
]

Table = tuple[list[str], list[list[str]]]
#: Shown where a value does not exist (no data, or undefined).
NA = "n/a"
Run = dict[str, Any]


def _f(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return NA
    return f"{value:.{digits}f}"


def _ci(values: Sequence[float], digits: int = 3) -> str:
    estimate = bootstrap_mean(values)
    if estimate is None:
        return NA
    return f"{_f(estimate.mean, digits)} [{_f(estimate.low, digits)}, {_f(estimate.high, digits)}]"


def per_group(runs: Iterable[Run]) -> dict[tuple[str, str], list[Run]]:
    groups: dict[tuple[str, str], list[Run]] = defaultdict(list)
    for run in runs:
        groups[(run["model"], run["mode"])].append(run)
    return dict(sorted(groups.items()))


def metric_values(runs: Iterable[Run], metric: str) -> list[float]:
    values = []
    for run in runs:
        if metric == "false_positive":
            value = run["score"]["false_positive"]
        elif metric == "latency_ms":
            value = run["wall_ms"]
        elif metric in ("input_tokens", "output_tokens", "total_tokens"):
            value = (run["metadata"] or {}).get("token_usage", {}).get(metric)
        else:
            value = run["score"][metric]
        if value is not None:
            values.append(float(value))
    return values


def group_table(runs: Sequence[Run]) -> Table:
    """One row per (model, mode): every quality score with its 95% bootstrap CI, rates,
    latency and tokens."""
    header = ["model", "mode", "n", *QUALITY_METRICS, "false_positive_rate (clean)"]
    header += ["schema_valid", "failed", "degraded", "latency p50 ms", "latency p95 ms"]
    header += ["tokens in", "tokens out", "cost USD per run"]
    rows = []
    for (model, mode), group in per_group(runs).items():
        latency = metric_values(group, "latency_ms")
        rows.append(
            [
                model,
                mode,
                str(len(group)),
                *(_ci(metric_values(group, metric)) for metric in QUALITY_METRICS),
                _ci(metric_values(group, "false_positive")),
                _f(sum(r["score"]["schema_valid"] for r in group) / len(group)),
                _f(sum(r["status"] == "failed" for r in group) / len(group)),
                _f(sum(r["status"] == "degraded" for r in group) / len(group)),
                _f(percentile(latency, 50), 0),
                _f(percentile(latency, 95), 0),
                _ci(metric_values(group, "input_tokens"), 0),
                _ci(metric_values(group, "output_tokens"), 0),
                _cost(group),
            ]
        )
    return header, rows


def _cost(runs: Sequence[Run]) -> str:
    """Mean USD per run with its CI, when every run's price is known."""
    costs = [(run["metadata"] or {}).get("cost_usd") for run in runs]
    if not costs or None in costs:
        return NA
    return _ci([float(c) for c in costs if c is not None], 6)


PAIRED_METRICS = (*QUALITY_METRICS, "false_positive", "latency_ms", "total_tokens")


def paired_table(runs: Sequence[Run], a: str = "monolithic", b: str = "agentic") -> Table:
    """``b - a`` on the same set, repeat and model; Holm's correction across the quality
    metrics of each model."""
    header = ["model", "metric", "pairs", f"mean {b} - {a} [95% CI]", "Wilcoxon p"]
    header += ["Holm p", "Cohen's dz", "rank-biserial r"]
    by_cell: dict[tuple[str, str, int, str], Run] = {
        (r["model"], r["set_id"], r["repeat"], r["mode"]): r for r in runs
    }
    rows = []
    for model in sorted({r["model"] for r in runs}):
        keys = sorted({(s, rep) for (m, s, rep, _) in by_cell if m == model})
        results = []
        for metric in PAIRED_METRICS:
            first, second = [], []
            for set_id, repeat in keys:
                left, right = (
                    by_cell.get((model, set_id, repeat, a)),
                    by_cell.get((model, set_id, repeat, b)),
                )
                if left is None or right is None:
                    continue
                x, y = metric_values([left], metric), metric_values([right], metric)
                if x and y:
                    first.append(x[0])
                    second.append(y[0])
            results.append((metric, paired_comparison(first, second)))
        quality = [c.p_value if c and m in QUALITY_METRICS else None for m, c in results]
        adjusted = holm(quality)
        for (metric, comparison), holm_p in zip(results, adjusted, strict=True):
            if comparison is None:
                rows.append([model, metric, "0", NA, NA, NA, NA, NA])
                continue
            digits = 0 if metric in ("latency_ms", "total_tokens") else 3
            rows.append(
                [
                    model,
                    metric,
                    str(comparison.n),
                    f"{_f(comparison.mean_difference, digits)} "
                    f"[{_f(comparison.low, digits)}, {_f(comparison.high, digits)}]",
                    _f(comparison.p_value, 4),
                    _f(holm_p, 4),
                    _f(comparison.cohens_dz, 2),
                    _f(comparison.rank_biserial, 2),
                ]
            )
    return header, rows


def agent_table(runs: Sequence[Run]) -> Table:
    """Agentic runs: per model and node, mean wall time and tokens, and failures; plus how
    long each run waited on its slowest agent."""
    header = ["model", "node", "runs", "mean ms", "mean tokens in", "mean tokens out", "failed"]
    rows = []
    for model in sorted({r["model"] for r in runs}):
        agentic = [r for r in runs if r["model"] == model and r["mode"] == "agentic"]
        nodes: dict[str, list[dict[str, Any]]] = defaultdict(list)
        waits, phases = [], []
        for run in agentic:
            if run["metadata"] is None:
                continue
            for node in run["metadata"]["nodes"]:
                nodes[
                    node["node"].partition(":")[0]
                    if node["node"].startswith("cross")
                    else node["node"]
                ].append(node)
            if run["metadata"].get("agentic"):
                waits.append(run["metadata"]["agentic"]["waiting_on_slowest_ms"])
                phases.append(run["metadata"]["agentic"]["parallel_phase_ms"])
        for name, seen in sorted(nodes.items()):
            rows.append(
                [
                    model,
                    name,
                    str(len(seen)),
                    _f(sum(n["duration_ms"] for n in seen) / len(seen), 0),
                    _f(sum(n["token_usage"]["input_tokens"] for n in seen) / len(seen), 0),
                    _f(sum(n["token_usage"]["output_tokens"] for n in seen) / len(seen), 0),
                    str(sum(n["status"] == "failed" for n in seen)),
                ]
            )
        for label, values in (("(parallel phase)", phases), ("(waiting on slowest)", waits)):
            if values:
                mean = _f(sum(values) / len(values), 0)
                rows.append([model, label, str(len(values)), mean, "", "", ""])
    return header, rows


def node_name(node: str) -> str:
    """Cross-check rounds ("cross_check:2") count as one node."""
    return node.partition(":")[0] if node.startswith("cross_check") else node
