"""The seeded, deterministic generator of ``datasets/pillars-v2.jsonl``.

Labels by construction: a set is a few ordinary pillars of one family (any subset is
coherent), plus at most one contradiction plant (with the ordinary pillar it conflicts
with) and at most one misfit plant (for a context it misfits); its missing areas are the
rule's must and should areas its pillars' tags leave uncovered. The same seed, library and
natural items give the same bytes; a test rebuilds the committed file and compares.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterable
from pathlib import Path
from typing import Literal

from backend.pillars.llm.areas import DesignArea

from .dataset import ItemFacets, PillarSetItem, Split, load_dataset
from .library import (
    ContextEntry,
    ContradictionPlant,
    Family,
    PillarEntry,
    load_library,
)
from .rules import required_areas

__all__ = ["DEV_SHARE", "PLAN", "SEED", "build_dataset", "dataset_lines", "write_dataset"]

SEED = 2026
#: Shares of the generated items by what is planted.
PLAN: dict[str, float] = {"clean": 0.35, "contradiction": 0.30, "misfit": 0.25, "both": 0.10}
#: The dev split (prompt work), by context so that no game is in both splits.
DEV_SHARE = 0.2
GENERATED = 200
FIRST_GENERATED_ID = 101

Plant = Literal["clean", "contradiction", "misfit", "both"]


def build_dataset(
    library: Path, natural: Path, *, seed: int = SEED, count: int = GENERATED
) -> list[PillarSetItem]:
    rng = random.Random(seed)
    families = load_library(library)
    plans = _plans(rng, count)
    generated: list[PillarSetItem] = []
    seen: set[tuple[str, frozenset[str]]] = set()
    for number, plan in enumerate(plans):
        family = families[number % len(families)]
        context = _context_for(family, number // len(families), plan)
        for _attempt in range(50):
            item = _compose(rng, family, context, plan, FIRST_GENERATED_ID + number)
            signature = (context.key, frozenset(p.name for p in item.pillars))
            if signature not in seen:
                seen.add(signature)
                generated.append(item)
                break
        else:
            raise ValueError(f"{family.family}/{context.key}: no new {plan} set in 50 tries")
    natural_items = [i.model_copy(update={"source": "natural"}) for i in load_dataset(natural)]
    return _with_splits(rng, natural_items + generated)


def _plans(rng: random.Random, count: int) -> list[Plant]:
    plans: list[Plant] = []
    for plan, share in PLAN.items():
        plans += [plan] * round(share * count)  # type: ignore[list-item]
    plans = (plans + ["clean"] * count)[:count]  # rounding
    rng.shuffle(plans)
    return plans


def _context_for(family: Family, turn: int, plan: Plant) -> ContextEntry:
    """The family's contexts in turn, skipping one that no misfit plant fits when the plan
    needs a misfit."""
    contexts = family.contexts[turn % len(family.contexts) :] + family.contexts
    for context in contexts:
        if plan in ("clean", "contradiction") or any(
            context in family.misfit_contexts(m) for m in family.misfits
        ):
            return context
    raise ValueError(f"{family.family}: no context takes a misfit plant")


def _compose(
    rng: random.Random, family: Family, context: ContextEntry, plan: Plant, number: int
) -> PillarSetItem:
    pool = [p for p in family.pillars if p.only.matches(context.facets)]
    chosen = rng.sample(pool, rng.randint(3, 5))
    labels: dict[str, object] = {"contradictions": [], "context_misfits": []}
    if plan in ("contradiction", "both"):
        plant = rng.choice([p for p in family.plants if _fits(p, context, pool)])
        target = next(p for p in pool if p.key == plant.conflicts_with)
        if target not in chosen:
            chosen[rng.randrange(len(chosen))] = target
        chosen.append(plant)
        labels["contradictions"] = [
            {
                "pillars": [target.name, plant.name],
                "reason": plant.reason,
                "difficulty": plant.difficulty,
            }
        ]
    if plan in ("misfit", "both"):
        misfit = rng.choice([m for m in family.misfits if context in family.misfit_contexts(m)])
        chosen.append(misfit)
        labels["context_misfits"] = [
            {
                "pillar": misfit.name,
                "reason": misfit.reason,
                "kind": misfit.kind,
                "difficulty": misfit.difficulty,
            }
        ]
    rng.shuffle(chosen)
    facets = ItemFacets(
        **context.rule_facets(family.family).model_dump(), scope=context.facets.scope
    )
    covered = {area for p in chosen for area in p.areas}
    grades = required_areas(facets)
    labels["pillar_areas"] = {p.name: list(p.areas) for p in chosen}
    labels["missing_areas"] = _ordered(grades.must - covered)
    labels["missing_should"] = _ordered(grades.should - covered)
    return PillarSetItem.model_validate(
        {
            "id": f"ps-{number:03d}",
            "context": {
                "title": context.title,
                "genre": context.genre,
                "audience": context.audience,
                "platform": context.platform,
                "vision": context.vision,
                "constraints": context.constraints,
            },
            "pillars": [{"name": p.name, "description": p.description} for p in chosen],
            "labels": labels,
            "clean": plan == "clean",
            "notes": _notes(family, context, plan),
            "facets": facets,
            "source": "generated",
        }
    )


def _fits(plant: ContradictionPlant, context: ContextEntry, pool: list[PillarEntry]) -> bool:
    return plant.only.matches(context.facets) and any(p.key == plant.conflicts_with for p in pool)


def _ordered(areas: Iterable[DesignArea]) -> list[DesignArea]:
    wanted = set(areas)
    return [area for area in DesignArea if area in wanted]


def _notes(family: Family, context: ContextEntry, plan: Plant) -> str:
    return f"Generated from library/{family.family}.toml, context {context.key}; planted: {plan}."


def _with_splits(rng: random.Random, items: list[PillarSetItem]) -> list[PillarSetItem]:
    """Dev or test by game: a natural item is its own game, a generated one shares its
    context with the other items made from it."""
    games = sorted({_game(item) for item in items})
    rng.shuffle(games)
    dev = set(games[: round(DEV_SHARE * len(games))])
    split: dict[str, Split] = {item.id: "dev" if _game(item) in dev else "test" for item in items}
    return [item.model_copy(update={"split": split[item.id]}) for item in items]


def _game(item: PillarSetItem) -> str:
    return item.id if item.source == "natural" else f"{item.context.title}|{item.context.genre}"


def dataset_lines(items: list[PillarSetItem]) -> str:
    return "".join(
        json.dumps(item.model_dump(mode="json", exclude_none=True), ensure_ascii=False) + "\n"
        for item in items
    )


def write_dataset(items: list[PillarSetItem], path: Path) -> None:
    path.write_text(dataset_lines(items), encoding="utf-8")
