"""The tagged pillar library the dataset generator composes sets from.

One TOML file per genre family under ``datasets/library/``: game contexts with their
facets, pillars tagged with the areas they cover (any subset of a family's pillars is a
coherent set), contradiction plants (a pillar that conflicts with one named pillar of the
family, with the reason and a difficulty) and misfit plants (a pillar that does not fit
contexts with given facets, or named contexts). ``load_library`` checks every rule that
does not need the generator: keys unique, areas in the vocabulary, targets exist, and a
"subtle" plant really is one for the lexical finder (``lexical.py``).
"""

from __future__ import annotations

import tomllib
from enum import StrEnum
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from backend.pillars.llm.areas import DesignArea

from .lexical import context_text, lexical_cues, pillar_text
from .rules import Audience, Business, Facets, GenreFamily, Platform, Players

__all__ = [
    "ContextEntry",
    "ContradictionPlant",
    "Difficulty",
    "FacetFilter",
    "Family",
    "LibraryError",
    "MisfitKind",
    "MisfitPlant",
    "PillarEntry",
    "Scope",
    "load_library",
]

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=3, max_length=60)]
Sentence = Annotated[str, StringConstraints(strip_whitespace=True, min_length=20, max_length=240)]


class LibraryError(ValueError):
    """A library file that breaks a rule (file and entry named)."""


class Difficulty(StrEnum):
    EXPLICIT = "explicit"
    SUBTLE = "subtle"


class MisfitKind(StrEnum):
    AUDIENCE = "audience"
    PLATFORM = "platform"
    SCOPE = "scope"
    GENRE = "genre"
    VISION = "vision"


class Scope(StrEnum):
    SMALL = "small"  # up to ~10 people
    MEDIUM = "medium"
    LARGE = "large"  # AAA


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ContextFacets(_Strict):
    platform: Platform
    audience: Audience
    business: Business
    players: Players
    scope: Scope


class ContextEntry(_Strict):
    key: Key
    title: Name
    genre: Name
    audience: Name
    platform: Name
    vision: Sentence
    constraints: Name
    facets: ContextFacets

    def rule_facets(self, family: GenreFamily) -> Facets:
        f = self.facets
        return Facets(
            family=family,
            platform=f.platform,
            audience=f.audience,
            business=f.business,
            players=f.players,
        )

    def text(self) -> str:
        return context_text(
            (self.title, self.genre, self.audience, self.platform, self.vision, self.constraints)
        )


class FacetFilter(_Strict):
    """Facet values a context must have (every listed facet, any listed value)."""

    platform: list[Platform] | None = None
    audience: list[Audience] | None = None
    business: list[Business] | None = None
    players: list[Players] | None = None
    scope: list[Scope] | None = None

    def matches(self, facets: ContextFacets) -> bool:
        return all(
            allowed is None or getattr(facets, facet) in allowed
            for facet, allowed in self.model_dump().items()
        )


class PillarEntry(_Strict):
    key: Key
    name: Name
    description: Sentence
    areas: Annotated[list[DesignArea], Field(min_length=1, max_length=3)]
    #: The pillar fits only contexts with these facets (co-op needs players = multi).
    only: FacetFilter = FacetFilter()

    def text(self) -> str:
        return pillar_text(self.name, self.description)


class ContradictionPlant(PillarEntry):
    conflicts_with: Key
    reason: Sentence
    difficulty: Difficulty


class MisfitPlant(PillarEntry):
    kind: MisfitKind
    #: The contexts it misfits: by facets, or by key (vision and genre misfits).
    when: FacetFilter | None = None
    contexts: list[Key] | None = None
    reason: Sentence
    difficulty: Difficulty


class Family(_Strict):
    family: GenreFamily
    contexts: Annotated[list[ContextEntry], Field(min_length=3)]
    pillars: Annotated[list[PillarEntry], Field(min_length=8)]
    plants: Annotated[list[ContradictionPlant], Field(min_length=4)]
    misfits: Annotated[list[MisfitPlant], Field(min_length=4)]

    def misfit_contexts(self, misfit: MisfitPlant) -> list[ContextEntry]:
        return [
            c
            for c in self.contexts
            if (misfit.contexts is not None and c.key in misfit.contexts)
            or (misfit.when is not None and misfit.when.matches(c.facets))
        ]


def load_library(directory: Path) -> list[Family]:
    families = []
    for path in sorted(directory.glob("*.toml")):
        try:
            family = Family.model_validate(tomllib.loads(path.read_text(encoding="utf-8")))
        except (ValueError, tomllib.TOMLDecodeError) as exc:
            raise LibraryError(f"{path}: {exc}") from exc
        problems = _problems(family)
        if problems:
            raise LibraryError(f"{path}:\n  " + "\n  ".join(problems))
        families.append(family)
    seen = [f.family for f in families]
    if len(set(seen)) != len(seen):
        raise LibraryError(f"{directory}: a genre family has two files")
    return families


def _problems(family: Family) -> list[str]:
    problems: list[str] = []
    entries: list[PillarEntry] = [*family.pillars, *family.plants, *family.misfits]
    keys = [e.key for e in entries] + [c.key for c in family.contexts]
    problems += [f"key {k!r} repeats" for k in sorted({k for k in keys if keys.count(k) > 1})]
    names = [e.name.casefold() for e in entries]
    problems += [f"name {n!r} repeats" for n in sorted({n for n in names if names.count(n) > 1})]
    by_key = {p.key: p for p in family.pillars}
    for plant in family.plants:
        target = by_key.get(plant.conflicts_with)
        if target is None:
            problems.append(f"plant {plant.key}: no pillar {plant.conflicts_with!r}")
        elif plant.difficulty is Difficulty.SUBTLE:
            problems += [
                f"plant {plant.key}: {p}"
                for p in _not_subtle(plant, target.text(), other_negation=True)
            ]
    for misfit in family.misfits:
        if (misfit.when is None) == (misfit.contexts is None):
            problems.append(f"misfit {misfit.key}: give exactly one of when and contexts")
            continue
        targets = family.misfit_contexts(misfit)
        if not targets:
            problems.append(f"misfit {misfit.key}: misfits no context of the family")
        if misfit.difficulty is Difficulty.SUBTLE:
            for context in targets:
                problems += [
                    f"misfit {misfit.key} in {context.key}: {p}"
                    for p in _not_subtle(misfit, context.text(), other_negation=False)
                ]
    return problems


def _not_subtle(plant: PillarEntry, other: str, *, other_negation: bool) -> list[str]:
    return lexical_cues(plant.name, plant.text(), other, other_negation=other_negation)
