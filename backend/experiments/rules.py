"""Which design areas a game must and should address: the rule behind missing areas.

An item's missing areas are not a labeller's impression: they follow from the game's
facets (genre family, platform, audience, business model, players) through the table
below, minus the areas its pillars cover. "Must" areas are the ones a pillar set of
that kind of game is incomplete without; "should" areas are worth a pillar but their
absence is defensible. Scoring takes recall on "must" and precision against
"must" or "should", so naming a "should" area is never a false alarm and omitting one
is never a miss. ``datasets/README.md`` prints the table (a test keeps it in step).
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from backend.pillars.llm.areas import DesignArea as A

__all__ = [
    "Audience",
    "Business",
    "Facets",
    "GenreFamily",
    "Grades",
    "Platform",
    "Players",
    "required_areas",
    "rules_markdown",
]


class GenreFamily(StrEnum):
    ACTION = "action"  # platformers, action-adventure, soulslikes, character action
    COMPETITIVE = "competitive"  # shooters, MOBAs, fighting, battle royale, sports PvP
    RPG = "rpg"  # role-playing games, action RPGs, MMOs
    STRATEGY = "strategy"  # 4X, RTS, tactics, tower defence, deck-builders
    PUZZLE = "puzzle"  # logic, physics and match puzzles
    STORY = "story"  # narrative adventures, visual novels, walking simulators
    SIMULATION = "simulation"  # life and farming sims, management, city builders
    SURVIVAL = "survival"  # survival, crafting, sandbox building
    PARTY = "party"  # party, rhythm, arcade racing, casual and educational
    HORROR = "horror"  # survival horror, psychological horror


class Platform(StrEnum):
    MOBILE = "mobile"  # phones and tablets: touch, short sessions
    HANDHELD = "handheld"  # Switch, Steam Deck
    CONSOLE = "console"
    PC = "pc"
    VR = "vr"
    WEB = "web"


class Audience(StrEnum):
    CHILDREN = "children"  # under 13
    TEENS = "teens"
    ADULTS = "adults"
    EVERYONE = "everyone"


class Business(StrEnum):
    PREMIUM = "premium"
    FREE_TO_PLAY = "free_to_play"


class Players(StrEnum):
    SINGLE = "single"
    MULTI = "multi"  # online or local, with or against others


class Facets(BaseModel):
    """What the rule needs to know of a game; the labeller reads them off its context."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    family: GenreFamily
    platform: Platform
    audience: Audience
    business: Business
    players: Players


class Grades(BaseModel):
    model_config = ConfigDict(frozen=True)

    must: frozenset[A]
    should: frozenset[A]


#: Per genre family: (must, should).
_BY_FAMILY: dict[GenreFamily, tuple[set[A], set[A]]] = {
    GenreFamily.ACTION: (
        {A.CORE_LOOP, A.CONTROLS_FEEL, A.CHALLENGE},
        {A.PROGRESSION, A.ART_DIRECTION, A.AUDIO},
    ),
    GenreFamily.COMPETITIVE: (
        {A.CORE_LOOP, A.CONTROLS_FEEL, A.SOCIAL},
        {A.PROGRESSION, A.ONBOARDING, A.INTERFACE},
    ),
    GenreFamily.RPG: (
        {A.CORE_LOOP, A.PROGRESSION, A.NARRATIVE},
        {A.PLAYER_EXPRESSION, A.ECONOMY, A.CHALLENGE},
    ),
    GenreFamily.STRATEGY: (
        {A.CORE_LOOP, A.INTERFACE, A.CHALLENGE},
        {A.REPLAYABILITY, A.PROGRESSION, A.ONBOARDING},
    ),
    GenreFamily.PUZZLE: (
        {A.CORE_LOOP, A.CHALLENGE, A.PROGRESSION},
        {A.ONBOARDING, A.INTERFACE, A.ART_DIRECTION},
    ),
    GenreFamily.STORY: (
        {A.NARRATIVE, A.CORE_LOOP, A.ART_DIRECTION},
        {A.AUDIO, A.CONTROLS_FEEL, A.SESSION_STRUCTURE},
    ),
    GenreFamily.SIMULATION: (
        {A.CORE_LOOP, A.PROGRESSION, A.ECONOMY},
        {A.PLAYER_EXPRESSION, A.SESSION_STRUCTURE, A.ART_DIRECTION},
    ),
    GenreFamily.SURVIVAL: (
        {A.CORE_LOOP, A.ECONOMY, A.CHALLENGE},
        {A.PROGRESSION, A.REPLAYABILITY, A.PLAYER_EXPRESSION},
    ),
    GenreFamily.PARTY: (
        {A.CORE_LOOP, A.ONBOARDING, A.CONTROLS_FEEL},
        {A.SESSION_STRUCTURE, A.ACCESSIBILITY, A.AUDIO},
    ),
    GenreFamily.HORROR: (
        {A.CORE_LOOP, A.AUDIO, A.ART_DIRECTION},
        {A.NARRATIVE, A.CHALLENGE, A.CONTROLS_FEEL},
    ),
}

#: Facet values that add areas: (facet, value, must, should).
_MODIFIERS: list[tuple[str, str, set[A], set[A]]] = [
    ("platform", Platform.MOBILE, {A.SESSION_STRUCTURE}, {A.INTERFACE}),
    ("platform", Platform.VR, {A.CONTROLS_FEEL}, {A.ACCESSIBILITY}),
    ("platform", Platform.WEB, set(), {A.SESSION_STRUCTURE}),
    ("audience", Audience.CHILDREN, {A.ONBOARDING}, {A.ACCESSIBILITY}),
    ("business", Business.FREE_TO_PLAY, {A.MONETISATION}, {A.LIVE_OPERATIONS}),
    ("players", Players.MULTI, {A.SOCIAL}, set()),
]


def required_areas(facets: Facets) -> Grades:
    """The areas a game with these facets must and should address.

    A single-player game never needs ``social``: the rule removes it whatever else adds it.
    """
    must, should = (set(part) for part in _BY_FAMILY[facets.family])
    for facet, value, adds_must, adds_should in _MODIFIERS:
        if getattr(facets, facet) == value:
            must |= adds_must
            should |= adds_should
    if facets.players is Players.SINGLE:
        must.discard(A.SOCIAL)
        should.discard(A.SOCIAL)
    return Grades(must=frozenset(must), should=frozenset(should - must))


def rules_markdown() -> str:
    """The rule as the Markdown tables of ``datasets/README.md``."""
    lines = ["| genre family | must | should |", "|---|---|---|"]
    for family, (must, should) in _BY_FAMILY.items():
        lines.append(f"| `{family}` | {_names(must)} | {_names(should)} |")
    lines += ["", "| facet | adds to must | adds to should |", "|---|---|---|"]
    for facet, value, must, should in _MODIFIERS:
        lines.append(f"| {facet} = `{value}` | {_names(must)} | {_names(should)} |")
    lines.append("| players = `single` | removes `social` | removes `social` |")
    return "\n".join(lines)


def _names(areas: set[A]) -> str:
    ordered = [area for area in A if area in areas]
    return ", ".join(f"`{area}`" for area in ordered) or "-"
