"""The report's machine-readable outputs: ``report.json`` (every comparison as numbers),
``items.csv`` (tidy: one row per item x model x mode, for R or pandas) and ``tables.tex``
(booktabs tables of the report)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .analysis import COST_METRICS, ComparisonRow, item_means
from .scoring import QUALITY_METRICS
from .tables import Table, per_group

__all__ = ["write_exports"]

Run = dict[str, Any]


def write_exports(
    out: Path,
    runs: Sequence[Run],
    rows: Sequence[ComparisonRow],
    tables: Sequence[tuple[str, Table, str]],
) -> dict[str, Path]:
    paths = {"report.json": out / "report.json", "items.csv": out / "items.csv"}
    paths["tables.tex"] = out / "tables.tex"
    report = {
        "comparisons": [row.model_dump() for row in rows],
        "tables": {title: {"header": t[0], "rows": t[1]} for title, t, _ in tables},
    }
    paths["report.json"].write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    _write_items(paths["items.csv"], runs)
    paths["tables.tex"].write_text(
        "\n".join(_latex(title, table) for title, table, _ in tables if table[1]),
        encoding="utf-8",
    )
    return paths


def _write_items(path: Path, runs: Sequence[Run]) -> None:
    metrics = [*QUALITY_METRICS, *COST_METRICS]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["set_id", "model", "mode", "repeats", "failed_share", *metrics])
        for (model, mode), group in per_group(runs).items():
            means = {metric: item_means(group, metric) for metric in metrics}
            for set_id in sorted({r["set_id"] for r in group}):
                runs_of_item = [r for r in group if r["set_id"] == set_id]
                failed = sum(r["status"] == "failed" for r in runs_of_item) / len(runs_of_item)
                values = [means[m].get(set_id) for m in metrics]
                writer.writerow(
                    [set_id, model, mode, len(runs_of_item), f"{failed:.6g}"]
                    + ["" if v is None else f"{v:.6g}" for v in values]
                )


_LATEX_ESCAPES = {
    "\\": r"\textbackslash{}",
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
}


def _tex(text: str) -> str:
    return "".join(_LATEX_ESCAPES.get(ch, ch) for ch in text).replace("\n", " ")


def _latex(title: str, table: Table) -> str:
    header, rows = table
    lines = [
        f"% {title}",
        "\\begin{table}[htbp]",
        "\\centering\\scriptsize",
        f"\\caption{{{_tex(title)}}}",
        "\\begin{tabular}{" + "l" * len(header) + "}",
        "\\toprule",
        " & ".join(_tex(h) for h in header) + " \\\\",
        "\\midrule",
        *(" & ".join(_tex(c) for c in row) + " \\\\" for row in rows),
        "\\bottomrule",
        "\\end{tabular}",
        "\\end{table}",
        "",
    ]
    return "\n".join(lines)
