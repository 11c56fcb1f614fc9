"""``report.md`` and a self-contained ``report.html`` for an experiment directory.

The header makes the run reproducible (the commits whose code ran it, and the one that
reports it; versions, dataset hash, models, prompt hashes, seeds, temperatures,
cross-check rounds); everything under "## Results" is computed from ``runs.jsonl``
alone, so a replay reproduces it byte for byte.
"""

from __future__ import annotations

import base64
import hashlib
import html
import importlib.metadata
import json
from pathlib import Path
from typing import Any

from ._provenance import code_commit, commits_of
from .analysis import ComparisonRow, compare
from .runner import PARAMS, RUNS, ExperimentParams
from .scoring import COUNTED_SEVERITIES, MISFIT_THRESHOLD
from .stats import ALPHA, POWER, PRIMARY_TEST, RESAMPLES, SECONDARY_TEST, SEED
from .tables import Table, agent_table, comparison_table, floor_table, group_table

__all__ = ["RESULTS_HEADING", "load_runs", "write_report"]

RESULTS_HEADING = "## Results"
PACKAGES: tuple[str, ...] = (
    "django",
    "langgraph",
    "langchain-core",
    "langchain-openai",
    "pydantic",
    "xllamacpp",
    "numpy",
    "scipy",
    "matplotlib",
)


def load_runs(out: Path) -> list[dict[str, Any]]:
    lines = (out / RUNS).read_text(encoding="utf-8").splitlines()
    runs = [json.loads(line) for line in lines if line.strip()]
    return sorted(runs, key=lambda run: run["cell"])


def _markdown(table: Table) -> str:
    header, rows = table
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(cell or " " for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def _html_table(table: Table) -> str:
    header, rows = table
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _prompt_hashes() -> dict[str, str]:
    from agents.pillars import CROSS_CHECK_PROMPT
    from backend.llm.operation_handler import DEFAULT_SYSTEM_PROMPT
    from backend.pillars.llm import prompts
    from backend.pillars.llm.areas import format_areas

    texts = {name: getattr(prompts, name) for name in prompts.__all__ if name.isupper()}
    texts |= {"CROSS_CHECK": CROSS_CHECK_PROMPT, "SYSTEM": DEFAULT_SYSTEM_PROMPT}
    texts["AREAS"] = format_areas()
    return {name: hashlib.sha256(text.encode()).hexdigest()[:12] for name, text in texts.items()}


def _temperature(options: dict[str, Any]) -> float:
    """The temperature a run used: its own (0 included), else the run context's default."""
    from backend.llm.context import DEFAULT_TEMPERATURE

    chosen = options.get("temperature")
    return DEFAULT_TEMPERATURE if chosen is None else float(chosen)


def _header(params: ExperimentParams, runs: list[dict[str, Any]]) -> list[tuple[str, str]]:
    from backend.llm.config import get_config
    from backend.llm.providers.local_provider import LocalSettings

    versions = []
    for package in PACKAGES:
        try:
            versions.append(f"{package} {importlib.metadata.version(package)}")
        except importlib.metadata.PackageNotFoundError:
            continue
    temperatures = sorted(
        {str(_temperature((r.get("request") or {}).get("options") or {})) for r in runs}
    )
    rounds = params.options.get("cross_check_rounds", get_config().cross_check_rounds)
    return [
        ("code of the runs", commits_of(runs)),
        ("code of this report", code_commit()),
        ("packages", ", ".join(versions)),
        ("dataset", f"{params.dataset} (sha256 {params.dataset_sha256})"),
        ("split", params.split or "all items"),
        (
            "grid",
            f"modes {params.modes} x models {params.models} x repeats {params.repeats}"
            + (f", first {params.limit} sets" if params.limit else ""),
        ),
        ("options", json.dumps(params.options, sort_keys=True)),
        ("temperatures", ", ".join(temperatures)),
        ("cross-check rounds", str(rounds)),
        (
            "seeds",
            f"embedded model {LocalSettings.load().seed}; bootstrap {SEED} ({RESAMPLES} resamples)",
        ),
        ("misfit threshold", f"context score < {MISFIT_THRESHOLD} (the prompts say so)"),
        ("contradictions counted", f"severity {' or '.join(sorted(COUNTED_SEVERITIES))}"),
        (
            "unit of analysis",
            "the item (pillar set): each metric is averaged over an item's repeats first; "
            "intervals resample items (percentile bootstrap)",
        ),
        ("primary test", f"{PRIMARY_TEST}; seed {SEED}"),
        ("secondary test", SECONDARY_TEST),
        ("confirmatory family", _family(params, runs)),
        (
            "power",
            f"MDE: the mean difference detected with {POWER:.0%} power at alpha {ALPHA} "
            f"(two-sided paired t, noncentral t) for the items compared and the sd of their "
            f"differences; 'items for target': items needed for a difference of "
            f"{params.target_difference:g}",
        ),
        ("prompt sha256", ", ".join(f"{k} {v}" for k, v in sorted(_prompt_hashes().items()))),
    ]


def _family(params: ExperimentParams, runs: list[dict[str, Any]]) -> str:
    models = sorted({r["model"] for r in runs})
    pairs = ", ".join(f"{b} - {a}" for a, b in params.comparisons) or "none"
    size = len(params.primary) * len(params.comparisons) * len(models)
    return (
        f"pre-registered in experiment.json: {', '.join(params.primary)} x ({pairs}) x "
        f"models {models}: {size} tests, Holm-corrected together at alpha {ALPHA}; every "
        f"other row is exploratory (unadjusted p)"
    )


def _floors(params: ExperimentParams, runs: list[dict[str, Any]]) -> tuple[Table, str]:
    """The floor rows on the runs' items, or why there are none."""
    from .card import floor_cells
    from .dataset import dataset_sha256, load_dataset

    path = Path(params.dataset)
    if not path.is_file() or dataset_sha256(path) != params.dataset_sha256:
        return (["floor"], []), f"No floors: {path} is missing or changed since the experiment."
    ids = sorted({r["set_id"] for r in runs})
    items = [i for i in load_dataset(path) if i.id in set(ids)]
    note = (
        "Answers that need no understanding, scored like the modes on the same items "
        "(majority areas: leave-one-out); a mode's row means something only above them."
    )
    return floor_table(floor_cells(items), ids), note


def _sections(
    params: ExperimentParams, runs: list[dict[str, Any]], rows: list[ComparisonRow]
) -> list[tuple[str, Table, str]]:
    floors, floor_note = _floors(params, runs)
    return [
        (
            "Per mode and model",
            group_table(runs),
            "Quality: mean over items (each item's mean over its repeats), 95% CI of "
            "resampled items; rates are fractions of runs.",
        ),
        (
            "Confirmatory comparisons",
            comparison_table([r for r in rows if r.family == "confirmatory"]),
            "The pre-registered family: b - a over items both modes answered; the primary "
            "test's p, Holm-adjusted over the whole family; Wilcoxon-Pratt as a secondary; "
            "d_z and the matched-pairs rank-biserial (zeros counted).",
        ),
        (
            "Exploratory comparisons",
            comparison_table([r for r in rows if r.family == "exploratory"]),
            "Every other metric, same test, unadjusted p: read as exploratory.",
        ),
        ("Floors", floors, floor_note),
        (
            "Agentic runs per agent",
            agent_table(runs),
            "Mean wall time and tokens per node; the parallel phase and the wait on its "
            "slowest agent.",
        ),
    ]


def write_report(out: Path) -> dict[str, Path]:
    from .exports import write_exports
    from .plots import write_plots

    params = ExperimentParams.model_validate_json((out / PARAMS).read_text())
    runs = load_runs(out)
    rows = compare(
        runs,
        primary=params.primary,
        comparisons=params.comparisons,
        target_difference=params.target_difference,
    )
    tables = _sections(params, runs, rows)
    plots = write_plots(runs, out / "plots")

    header = _header(params, runs)
    md = ["# Experiment report", ""]
    md += [f"- **{key}**: {value}" for key, value in header]
    md += ["", RESULTS_HEADING, ""]
    for title, table, note in tables:
        md += [f"### {title}", "", note, "", _markdown(table), ""]
    md += ["## Plots", ""]
    md += [f"![{name}](plots/{path.name})" for name, path in plots.items()]
    (out / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")

    parts = ["<h1>Experiment report</h1><ul>"]
    parts += [f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in header]
    parts.append("</ul><h2>Results</h2>")
    for title, table, note in tables:
        parts += [f"<h3>{html.escape(title)}</h3><p>{html.escape(note)}</p>", _html_table(table)]
    parts.append("<h2>Plots</h2>")
    for name, path in plots.items():
        encoded = base64.b64encode(path.read_bytes()).decode()
        parts.append(f'<figure><img alt="{name}" src="data:image/png;base64,{encoded}"></figure>')
    style = (
        "body{font-family:sans-serif;margin:2em;max-width:110em}"
        "table{border-collapse:collapse;font-size:12px;margin-bottom:1em}"
        "td,th{border:1px solid #ccc;padding:3px 6px;text-align:left}"
    )
    document = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>Experiment report</title>"
        f"<style>{style}</style></head><body>{''.join(parts)}</body></html>\n"
    )
    (out / "report.html").write_text(document, encoding="utf-8")
    exports = write_exports(out, runs, rows, tables)
    return {"report.md": out / "report.md", "report.html": out / "report.html", **exports, **plots}
