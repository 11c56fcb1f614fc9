"""``manage.py llm dataset build|check|blind|agreement``: make, audit and cross-label the
dataset (``datasets/README.md`` describes the rules each step enforces)."""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

__all__ = ["DatasetCommand"]

DATASETS = Path("datasets")
DEFAULTS = {
    "dataset": DATASETS / "pillars-v2.jsonl",
    "library": DATASETS / "library",
    "natural": DATASETS / "source" / "natural.jsonl",
}
#: What ``check`` requires of a version-2 dataset (issue: size and balance).
MIN_ITEMS = 200
MIN_SHARE = 0.30  # clean, with a contradiction, with a misfit: each at least
MAX_FAMILY_SHARE = 0.15
MAX_DEV_SHARE = 0.25
MAX_SUBTLE_CATCH = 0.10


class DatasetCommand:
    name = "dataset"
    help = "Build the dataset from its library, check it, or compare a blind second labelling."

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("step", choices=("build", "check", "blind", "agreement"))
        parser.add_argument("--dataset", type=Path, default=DEFAULTS["dataset"])
        parser.add_argument("--library", type=Path, default=DEFAULTS["library"])
        parser.add_argument("--natural", type=Path, default=DEFAULTS["natural"])
        parser.add_argument("--seed", type=int, default=None)
        parser.add_argument(
            "--second", type=Path, help="agreement: the blind second labelling (JSON lines)."
        )
        parser.add_argument(
            "--sha256", help="agreement: the second labelling's hash, recorded when frozen."
        )

    def handle(self, command: BaseCommand, options: dict[str, Any]) -> None:
        from .dataset import DatasetError
        from .library import LibraryError

        try:
            text = getattr(self, f"_{options['step']}")(options)
        except (DatasetError, LibraryError, ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        command.stdout.write(text)

    def _build(self, options: dict[str, Any]) -> str:
        from .generator import SEED, build_dataset, write_dataset

        seed = SEED if options["seed"] is None else options["seed"]
        items = build_dataset(options["library"], options["natural"], seed=seed)
        write_dataset(items, options["dataset"])
        return json.dumps({"out": str(options["dataset"]), "items": len(items), "seed": seed})

    def _check(self, options: dict[str, Any]) -> str:
        from .card import (
            composition_markdown,
            difficulty_mismatches,
            floor_markdown,
            tier_markdown,
            tier_rows,
        )
        from .dataset import load_dataset
        from .generator import build_dataset, dataset_lines

        path: Path = options["dataset"]
        items = load_dataset(path)
        problems = _balance_problems(items)
        problems += [wrong for item in items for wrong in difficulty_mismatches(item)]
        rows = tier_rows(items)
        for kind, tier, planted, caught in rows:
            if tier == "subtle" and caught / planted >= MAX_SUBTLE_CATCH:
                problems.append(f"the lexical finder catches {caught}/{planted} subtle {kind}s")
        for kind in ("contradiction", "misfit"):
            subtle = sum(p for k, t, p, _ in rows if k == kind and t == "subtle")
            planted = sum(p for k, _, p, _ in rows if k == kind)
            if subtle < planted / 2:
                problems.append(f"only {subtle} of {planted} planted {kind}s are subtle")
        if options["library"].is_dir() and options["natural"].is_file():
            rebuilt = dataset_lines(build_dataset(options["library"], options["natural"]))
            if rebuilt != path.read_text(encoding="utf-8"):
                problems.append(f"{path} differs from what 'llm dataset build' makes: rebuild it")
        report = "\n\n".join(
            (
                f"# {path}: {len(items)} items",
                composition_markdown(items),
                tier_markdown(items),
                floor_markdown(items),
            )
        )
        if problems:
            raise CommandError(report + "\n\nProblems:\n- " + "\n- ".join(problems))
        return report + "\n\nOK"

    def _blind(self, options: dict[str, Any]) -> str:
        from .dataset import load_dataset

        items = [i for i in load_dataset(options["dataset"]) if i.source == "natural"]
        return "".join(
            json.dumps(
                {
                    "id": i.id,
                    "context": i.context.model_dump(exclude_none=True),
                    "pillars": [p.model_dump() for p in i.pillars],
                },
                ensure_ascii=False,
            )
            + "\n"
            for i in items
        )

    def _agreement(self, options: dict[str, Any]) -> str:
        from .agreement import agreement
        from .dataset import dataset_sha256, load_dataset

        second_path: Path | None = options["second"]
        if second_path is None or not options["sha256"]:
            raise CommandError("agreement needs --second FILE and --sha256 (recorded when frozen).")
        if dataset_sha256(second_path) != options["sha256"]:
            raise CommandError(f"{second_path} changed since it was frozen (sha256 differs).")
        second = load_dataset(second_path)
        ids = {i.id for i in second}
        first = [i for i in load_dataset(options["dataset"]) if i.id in ids]
        return agreement(first, second).model_dump_json(indent=2)


def _balance_problems(items: list[Any]) -> list[str]:
    n = len(items)
    problems = []
    if n < MIN_ITEMS:
        problems.append(f"{n} items, fewer than {MIN_ITEMS}")
    missing_v2 = [i.id for i in items if i.facets is None or i.split is None or i.source is None]
    if missing_v2:
        problems.append(f"items without facets, split or source: {missing_v2[:5]}")
    from .card import label_counts

    shares = {label: count / n for label, count in label_counts(items).items()}
    problems += [f"{k}: {v:.0%} < {MIN_SHARE:.0%}" for k, v in shares.items() if v < MIN_SHARE]
    families = Counter(str(i.facets.family) for i in items if i.facets is not None)
    problems += [
        f"family {f}: {c / n:.0%} > {MAX_FAMILY_SHARE:.0%}"
        for f, c in families.items()
        if c / n > MAX_FAMILY_SHARE
    ]
    dev = sum(i.split == "dev" for i in items) / n
    if dev > MAX_DEV_SHARE:
        problems.append(f"dev split {dev:.0%} > {MAX_DEV_SHARE:.0%}")
    return problems
