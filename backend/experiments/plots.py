"""The report's plots (matplotlib, headless): PNG for the HTML page, SVG for a thesis."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from .analysis import item_means, metric_value
from .stats import bootstrap_mean
from .tables import per_group

__all__ = ["write_plots"]

Run = dict[str, Any]
SHOWN = (
    ("contradiction_recall", "contradiction recall"),
    ("contradiction_false_alarm", "contradiction false alarms"),
    ("missing_area_f1", "missing-area F1"),
    ("misfit_auroc", "misfit AUROC"),
    ("false_positive", "FP rate (clean)"),
)


def write_plots(runs: list[Run], folder: Path) -> dict[str, Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams.update({"figure.dpi": 110, "font.size": 9, "svg.hashsalt": "pixe"})
    folder.mkdir(parents=True, exist_ok=True)
    groups = per_group(runs)
    labels = [f"{model}\n{mode}" for model, mode in groups]
    paths: dict[str, Path] = {}

    # 1. Quality per mode and model: means over items, 95% CIs of resampled items.
    figure, axis = plt.subplots(figsize=(8, 4))
    width = 0.8 / max(1, len(groups))
    for index, (label, group) in enumerate(zip(labels, groups.values(), strict=True)):
        means: list[float] = []
        errors: list[list[float]] = [[], []]
        for metric, _ in SHOWN:
            estimate = bootstrap_mean(list(item_means(group, metric).values()))
            mean = estimate.mean if estimate else 0.0
            means.append(mean)
            errors[0].append(mean - estimate.low if estimate else 0.0)
            errors[1].append(estimate.high - mean if estimate else 0.0)
        xs = [i + index * width for i in range(len(SHOWN))]
        axis.bar(xs, means, width, yerr=errors, capsize=3, label=label.replace("\n", " / "))
    axis.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(SHOWN))])
    axis.set_xticklabels([label for _, label in SHOWN], fontsize=7)
    axis.set_ylim(0, 1.05)
    axis.set_ylabel("mean (95% bootstrap CI)")
    axis.set_title("Quality per mode and model")
    axis.legend(fontsize=7)
    paths["quality"] = _save(figure, folder / "quality.png")

    # 2. Latency distributions.
    figure, axis = plt.subplots(figsize=(6, 4))
    axis.boxplot([[float(r["wall_ms"]) for r in g] for g in groups.values()], tick_labels=labels)
    axis.set_ylabel("run wall time (ms)")
    axis.set_title("Latency per mode and model")
    paths["latency"] = _save(figure, folder / "latency.png")

    # 3. Quality against tokens, one point per run.
    figure, axis = plt.subplots(figsize=(6, 4))
    for label, group in zip(labels, groups.values(), strict=True):
        points = [
            (r["metadata"]["token_usage"]["total_tokens"], _mean_quality(r))
            for r in group
            if r["metadata"] is not None
        ]
        if points:
            axis.scatter(
                [p[0] for p in points],
                [p[1] for p in points],
                s=14,
                alpha=0.7,
                label=label.replace("\n", " / "),
            )
    axis.set_xlabel("tokens per run (input + output)")
    axis.set_ylabel("mean of recall, missing-area F1 and misfit AUROC")
    axis.set_title("Quality against tokens")
    axis.legend(fontsize=7)
    paths["quality_vs_tokens"] = _save(figure, folder / "quality_vs_tokens.png")

    # 4. Per-agent breakdown of agentic runs: mean wall time per node.
    durations: dict[str, list[float]] = defaultdict(list)
    for run in runs:
        if run["mode"] == "agentic" and run["metadata"]:
            for node in run["metadata"]["nodes"]:
                name = (
                    node["node"].split(":")[0] if node["node"].startswith("cross") else node["node"]
                )
                durations[name].append(node["duration_ms"])
    figure, axis = plt.subplots(figsize=(6, 4))
    names = sorted(durations)
    axis.barh(names, [sum(durations[n]) / len(durations[n]) for n in names])
    axis.set_xlabel("mean wall time per run (ms)")
    axis.set_title("Agentic mode: time per agent node")
    paths["agents"] = _save(figure, folder / "agents.png")
    return paths


def _mean_quality(run: Run) -> float:
    values = [
        metric_value(run, m) for m in ("contradiction_recall", "missing_area_f1", "misfit_auroc")
    ]
    present = [v for v in values if v is not None]
    return sum(present) / len(present) if present else 0.0


def _save(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.tight_layout()
    figure.savefig(path, metadata={"Software": None})
    figure.savefig(path.with_suffix(".svg"), metadata={"Date": None})
    plt.close(figure)
    return path
