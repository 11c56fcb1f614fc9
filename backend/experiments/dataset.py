"""The labelled dataset: one pillar set per JSON line, with its game context and labels.

Format and label meanings are documented in ``datasets/README.md``; ``PillarSetItem`` is
the format's definition (``PillarSetItem.model_json_schema()`` is its JSON Schema).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Annotated, Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from backend.pillars.llm.areas import DesignArea
from backend.pillars.llm.schemas import GameContext, PillarInput

from .library import Difficulty, MisfitKind, Scope
from .rules import Facets, required_areas

__all__ = [
    "ContradictionLabel",
    "DatasetError",
    "ItemFacets",
    "Labels",
    "MisfitLabel",
    "PillarSetItem",
    "Split",
    "dataset_sha256",
    "load_dataset",
    "normalize_name",
]

Reason = Annotated[str, StringConstraints(strip_whitespace=True, min_length=10, max_length=300)]


def normalize_name(name: str) -> str:
    """Pillar names compare case- and whitespace-insensitively."""
    return " ".join(name.casefold().split())


class DatasetError(ValueError):
    """A dataset file that does not match the format (line number included)."""


class ContradictionLabel(BaseModel):
    """Two pillars of the set that genuinely conflict, and why."""

    model_config = ConfigDict(extra="forbid")

    pillars: tuple[str, str]
    reason: Reason
    #: v2: can the lexical finder see it (explicit) or not (subtle)?
    difficulty: Difficulty | None = None


class MisfitLabel(BaseModel):
    """A pillar that does not fit the stated game context, and why."""

    model_config = ConfigDict(extra="forbid")

    pillar: str
    reason: Reason
    difficulty: Difficulty | None = None
    kind: MisfitKind | None = None


class Labels(BaseModel):
    model_config = ConfigDict(extra="forbid")

    contradictions: list[ContradictionLabel] = Field(default_factory=list)
    #: The areas the game must address and no pillar covers (v1: the labeller's choice).
    missing_areas: list[DesignArea] = Field(default_factory=list)
    #: v2: the areas it should address and no pillar covers (naming one is no false alarm).
    missing_should: list[DesignArea] = Field(default_factory=list)
    context_misfits: list[MisfitLabel] = Field(default_factory=list)
    #: v2: the areas each pillar covers (by name), from which the missing areas follow.
    pillar_areas: dict[str, list[DesignArea]] | None = None


Split = Literal["dev", "test"]


class ItemFacets(Facets):
    """What the missing-area rule needs, plus the team's scope (for scope misfits)."""

    scope: Scope


class PillarSetItem(BaseModel):
    """One labelled pillar set."""

    model_config = ConfigDict(extra="forbid")

    id: Annotated[str, StringConstraints(pattern=r"^ps-\d{3}$")]
    context: GameContext
    pillars: Annotated[list[PillarInput], Field(min_length=3, max_length=8)]
    labels: Labels
    #: No planted contradiction and no misfit: any such finding is a false positive.
    clean: bool
    notes: str = ""
    #: v2 fields (absent in v1): the game's facets, the split, and where the item came from.
    facets: ItemFacets | None = None
    split: Split | None = None
    source: Literal["natural", "generated"] | None = None

    @model_validator(mode="after")
    def _labels_name_this_sets_pillars(self) -> Self:
        names = [normalize_name(p.name) for p in self.pillars]
        if len(set(names)) != len(names):
            raise ValueError("pillar names repeat")
        if self.context.is_empty() or not self.context.genre or not self.context.platform:
            raise ValueError("the context needs at least a genre and a platform")
        known = set(names)
        for label in self.labels.contradictions:
            a, b = (normalize_name(n) for n in label.pillars)
            if a == b or not {a, b} <= known:
                raise ValueError(f"contradiction {label.pillars} must name two pillars of the set")
        for misfit in self.labels.context_misfits:
            if normalize_name(misfit.pillar) not in known:
                raise ValueError(f"misfit {misfit.pillar!r} is not a pillar of the set")
        if len(set(self.labels.missing_areas)) != len(self.labels.missing_areas):
            raise ValueError("missing_areas repeat")
        planted = bool(self.labels.contradictions or self.labels.context_misfits)
        if self.clean == planted:
            raise ValueError("clean must be true exactly when nothing is planted")
        if self.labels.pillar_areas is not None:
            self._missing_areas_follow_from_the_rule(self.labels.pillar_areas, known)
        return self

    def _missing_areas_follow_from_the_rule(
        self, pillar_areas: dict[str, list[DesignArea]], known: set[str]
    ) -> None:
        tagged = {normalize_name(name): areas for name, areas in pillar_areas.items()}
        if set(tagged) != known:
            raise ValueError("pillar_areas must tag every pillar of the set, and only them")
        if self.facets is None:
            raise ValueError("pillar_areas needs facets: the rule starts from them")
        covered = {area for areas in tagged.values() for area in areas}
        grades = required_areas(self.facets)
        if set(self.labels.missing_areas) != grades.must - covered:
            raise ValueError(
                f"missing_areas must be {sorted(grades.must - covered)}: the must areas no "
                "pillar covers"
            )
        if set(self.labels.missing_should) != grades.should - covered:
            raise ValueError(
                f"missing_should must be {sorted(grades.should - covered)}: the should areas "
                "no pillar covers"
            )

    def request_data(self) -> dict[str, Any]:
        """The ``pillars.evaluate`` input for this set."""
        return {
            "pillars": [p.model_dump() for p in self.pillars],
            "context": self.context.model_dump(exclude_none=True),
        }


def load_dataset(path: Path) -> list[PillarSetItem]:
    items: list[PillarSetItem] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            items.append(PillarSetItem.model_validate(json.loads(line)))
        except (ValueError, TypeError) as exc:
            raise DatasetError(f"{path}:{number}: {exc}") from exc
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        raise DatasetError(f"{path}: ids repeat")
    return items


def dataset_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
