"""The report's tables, computed from ``runs.jsonl`` (and, for the floors, the dataset)
only, so a replay reproduces them byte for byte. Quality is averaged per item (pillar set)
first; intervals resample items."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from .analysis import ComparisonRow, item_means
from .scoring import QUALITY_METRICS, CellScore
from .stats import bootstrap_mean, percentile

__all__ = [
    "NA",
    "Table",
    "agent_table",
    "comparison_table",
    "floor_table",
    "group_table",
    "node_name",
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


def group_table(runs: Sequence[Run]) -> Table:
    """One row per (model, mode): each quality metric's mean over items (an item's value is
    its mean over repeats) with the 95% CI of resampled items; rates per run; latency and
    tokens."""
    header = ["model", "mode", "items", "runs", *QUALITY_METRICS]
    header += ["schema_valid", "failed", "degraded", "latency p50 ms", "latency p95 ms"]
    header += ["tokens in", "tokens out", "cost USD per run"]
    rows = []
    for (model, mode), group in per_group(runs).items():
        latency = [float(r["wall_ms"]) for r in group]
        rows.append(
            [
                model,
                mode,
                str(len({r["set_id"] for r in group})),
                str(len(group)),
                *(_ci(list(item_means(group, m).values())) for m in QUALITY_METRICS),
                _f(sum(r["score"]["schema_valid"] for r in group) / len(group)),
                _f(sum(r["status"] == "failed" for r in group) / len(group)),
                _f(sum(r["status"] == "degraded" for r in group) / len(group)),
                _f(percentile(latency, 50), 0),
                _f(percentile(latency, 95), 0),
                _ci(list(item_means(group, "input_tokens").values()), 0),
                _ci(list(item_means(group, "output_tokens").values()), 0),
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


def comparison_table(rows: Sequence[ComparisonRow]) -> Table:
    header = ["model", "b - a", "metric", "items", "mean a", "mean b", "difference [95% CI]"]
    header += ["p (sign-flip)", "Holm p", "p (Wilcoxon-Pratt)", "d_z", "r_rb"]
    header += ["sd of differences", "within-item sd a / b", "MDE (80%)", "items for target"]
    table = []
    for row in rows:
        digits = 0 if row.metric in ("latency_ms", "total_tokens") else 3
        table.append(
            [
                row.model,
                f"{row.b} - {row.a}",
                row.metric,
                str(row.n_items),
                _f(row.mean_a, digits),
                _f(row.mean_b, digits),
                f"{_f(row.mean_difference, digits)} [{_f(row.ci_low, digits)}, "
                f"{_f(row.ci_high, digits)}]",
                _f(row.p_value, 4),
                _f(row.p_holm, 4) if row.family == "confirmatory" else "",
                _f(row.p_wilcoxon_pratt, 4),
                _f(row.cohens_dz, 2),
                _f(row.rank_biserial, 2),
                _f(row.sd_difference, digits),
                f"{_f(row.within_item_sd_a, digits)} / {_f(row.within_item_sd_b, digits)}",
                _f(row.mde, digits),
                f"{row.items_needed} (for {row.target_difference:g})"
                if row.items_needed is not None
                else NA,
            ]
        )
    return header, table


def floor_table(floors: dict[str, dict[str, CellScore]], items: Sequence[str]) -> Table:
    """Each floor's mean over the same items as the runs, with the 95% CI of items."""
    header = ["floor", "items", *QUALITY_METRICS]
    rows = []
    for name, cells in floors.items():
        present = [cells[i] for i in items if i in cells]
        values = {
            m: [float(v) for c in present if (v := getattr(c, m)) is not None]
            for m in QUALITY_METRICS
        }
        rows.append([name, str(len(present)), *(_ci(values[m]) for m in QUALITY_METRICS)])
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
