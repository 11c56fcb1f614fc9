"""``manage.py llm experiment`` and ``manage.py llm report``."""

from __future__ import annotations

import argparse
import asyncio
import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from backend.llm.types import EXECUTION_MODES, ExecutionOptions

__all__ = ["ExperimentCommand", "ReportCommand"]


def _require_extras() -> None:
    """Experiments need the development set-up (numpy, scipy, matplotlib, tqdm)."""
    import importlib.util

    missing = [
        m for m in ("numpy", "scipy", "matplotlib", "tqdm") if not importlib.util.find_spec(m)
    ]
    if missing:
        raise CommandError(
            f"Experiments need {', '.join(missing)}: run 'make setup' (the development "
            "dependencies), then this command with .venv/bin/python."
        )


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class ExperimentCommand:
    name = "experiment"
    help = "Run (or resume, or replay) a grid of pillars.evaluate runs on a labelled dataset."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--dataset", type=Path, help="JSON lines of labelled pillar sets.")
        parser.add_argument("--modes", default="monolithic,agentic")
        parser.add_argument("--models", default="local", help="Comma-separated model ids.")
        parser.add_argument("--repeats", type=int, default=1)
        parser.add_argument("--concurrency", type=int, default=1, help="Runs in flight.")
        parser.add_argument("--out", type=Path, required=True, help="Experiment directory.")
        parser.add_argument("--options", default="{}", help="ExecutionOptions as JSON.")
        parser.add_argument("--limit", type=int, default=None, help="Only the first N sets.")
        parser.add_argument(
            "--primary",
            default=None,
            help="Comma-separated confirmatory metrics (default: contradiction_recall, "
            "contradiction_false_alarm, missing_area_f1, misfit_auroc).",
        )
        parser.add_argument(
            "--mde",
            type=float,
            default=0.05,
            help="The mean difference the power analysis targets (items needed to detect it).",
        )
        parser.add_argument(
            "--split",
            choices=("test", "dev", "all"),
            default="test",
            help="The dataset's split to run on (items without a split count as test).",
        )
        parser.add_argument(
            "--replay",
            action="store_true",
            help="Recompute every cell from DIR's recorded calls, with no model.",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, command: BaseCommand, options: dict[str, Any]) -> None:
        _require_extras()
        from .runner import Experiment, ExperimentError

        try:
            experiment = Experiment.open(
                options["out"],
                None if options["replay"] else _params(options),
                replay=options["replay"],
            )
        except (ExperimentError, ValueError) as exc:
            raise CommandError(str(exc)) from exc
        cells = experiment.cells()
        todo = experiment.pending()
        progress = _progress(
            len(todo), options["no_progress"], "replay" if experiment.replay else "runs"
        )
        counts = {"failed": 0, "degraded": 0}

        def on_done(line: dict[str, Any]) -> None:
            if line["status"] in counts:
                counts[line["status"]] += 1
            if progress is not None:
                progress.set_postfix(counts, refresh=False)
                progress.update(1)

        try:
            asyncio.run(experiment.run(todo, max(1, options["concurrency"]), on_done))
        except ExperimentError as exc:
            raise CommandError(str(exc)) from exc
        except KeyboardInterrupt:
            raise CommandError(
                "Interrupted; the finished runs are in runs.jsonl: rerun the same command "
                "to run the rest."
            ) from None
        finally:
            if progress is not None:
                progress.close()
        command.stdout.write(
            json.dumps(
                {"out": str(options["out"]), "cells": len(cells), "ran": len(todo), **counts}
            )
        )


def _params(options: dict[str, Any]) -> Any:
    from .dataset import dataset_sha256
    from .runner import ExperimentParams

    dataset: Path | None = options["dataset"]
    if dataset is None or not dataset.is_file():
        raise CommandError("--dataset must name a dataset file (e.g. datasets/pillars-v2.jsonl).")
    modes = _csv(options["modes"])
    if not modes or any(mode not in EXECUTION_MODES for mode in modes):
        raise CommandError(f"--modes takes {', '.join(EXECUTION_MODES)}.")
    try:
        run_options = ExecutionOptions.model_validate(json.loads(options["options"]))
    except ValueError as exc:
        raise CommandError(f"--options is not valid ExecutionOptions JSON: {exc}") from exc
    from .analysis import PRIMARY_DEFAULT
    from .scoring import QUALITY_METRICS

    primary = _csv(options["primary"]) if options["primary"] else list(PRIMARY_DEFAULT)
    unknown = [m for m in primary if m not in QUALITY_METRICS]
    if unknown or not primary:
        raise CommandError(f"--primary takes metrics of {', '.join(QUALITY_METRICS)}.")
    # The first mode is the baseline each other mode is compared with.
    comparisons = [(modes[0], other) for other in modes[1:]]
    return ExperimentParams(
        primary=primary,
        comparisons=comparisons,
        target_difference=options["mde"],
        dataset=str(dataset),
        dataset_sha256=dataset_sha256(dataset),
        modes=modes,
        models=_csv(options["models"]),
        repeats=options["repeats"],
        options=run_options.model_dump(exclude_defaults=True),
        limit=options["limit"],
        split=options["split"],
    )


def _progress(total: int, disabled: bool, unit: str) -> Any:
    if disabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit=unit, desc="experiment", dynamic_ncols=True)


class ReportCommand:
    name = "report"
    help = "Write DIR/report.md and DIR/report.html (with plots) for an experiment."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("out", type=Path, help="The experiment directory.")

    def handle(self, command: BaseCommand, options: dict[str, Any]) -> None:
        _require_extras()
        from .report import write_report

        try:
            paths = write_report(options["out"])
        except FileNotFoundError as exc:
            raise CommandError(f"{options['out']} holds no experiment: {exc}") from exc
        command.stdout.write(json.dumps({name: str(path) for name, path in paths.items()}))
