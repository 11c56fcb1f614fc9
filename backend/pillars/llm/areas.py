"""The closed vocabulary of design areas that completeness is judged on.

A pillar set "covers" an area when at least one pillar tells the team what the game
must deliver there; it "misses" an area that matters for this game and no pillar
addresses. A closed list lets answers be scored exactly instead of by fuzzy text
matching; prompts name it, schemas enforce it.

Each area says what it includes and, where a neighbour could claim the same pillar,
which neighbour takes it, so two readers tag a pillar with the same area (the
labelling rules in ``datasets/README.md`` rely on it). Version 2 folded ``world_tone``
into ``narrative`` (setting and lore) and ``art_direction`` (visual mood), and added
``interface`` and ``live_operations``, concerns version 1 had no name for.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

__all__ = ["AREA_DEFINITIONS", "AREA_SPECS", "AreaSpec", "DesignArea", "format_areas"]


class DesignArea(StrEnum):
    CORE_LOOP = "core_loop"
    PROGRESSION = "progression"
    CHALLENGE = "challenge"
    CONTROLS_FEEL = "controls_feel"
    INTERFACE = "interface"
    NARRATIVE = "narrative"
    ART_DIRECTION = "art_direction"
    AUDIO = "audio"
    SOCIAL = "social"
    ECONOMY = "economy"
    MONETISATION = "monetisation"
    LIVE_OPERATIONS = "live_operations"
    ONBOARDING = "onboarding"
    REPLAYABILITY = "replayability"
    PLAYER_EXPRESSION = "player_expression"
    ACCESSIBILITY = "accessibility"
    SESSION_STRUCTURE = "session_structure"


@dataclass(frozen=True)
class AreaSpec:
    #: One line, as the prompts show it.
    definition: str
    includes: str
    #: What a reader might put here but belongs to another area (named in the text).
    excludes: str
    #: A pillar that covers this area.
    example: str


AREA_SPECS: dict[DesignArea, AreaSpec] = {
    DesignArea.CORE_LOOP: AreaSpec(
        "the activity the player repeats minute to minute, and why it satisfies",
        "the main verbs, the moment-to-moment goal and its reward",
        "session length (session_structure); unlocks over hours (progression)",
        "Dig, haul, sell: every dive fills the hold and pays for the next",
    ),
    DesignArea.PROGRESSION: AreaSpec(
        "how the player, character or world grows and unlocks over hours",
        "levels, skill trees, unlocks, chapters that open new content, meta-progression",
        "reasons to replay finished content (replayability)",
        "Each new biome hands the player a tool that opens the last one further",
    ),
    DesignArea.CHALLENGE: AreaSpec(
        "the intended difficulty, its curve, and what failing costs",
        "skill demands, difficulty curve, failure and death rules, permadeath, losing progress",
        "options that let a player change the difficulty (accessibility)",
        "Bosses punish greed: every attack can be read and every death is the player's",
    ),
    DesignArea.CONTROLS_FEEL: AreaSpec(
        "input, camera and responsiveness: how play feels in the hands",
        "control scheme for the platform, movement, aiming, haptics, VR comfort of motion",
        "menus and on-screen information (interface)",
        "Jump, dash and grapple chain without a frame of delay",
    ),
    DesignArea.INTERFACE: AreaSpec(
        "the HUD, menus and how the game shows its state so players can read it",
        "readability, feedback of state, information layout, screen size",
        "how input works (controls_feel); teaching the game (onboarding)",
        "Every threat on screen is readable at a glance, even on a phone",
    ),
    DesignArea.NARRATIVE: AreaSpec(
        "story, characters, the setting and its lore, and how they are told",
        "plot, dialogue, writing, world-building, the emotional tone of the fiction",
        "the look of the world (art_direction); voice acting as sound (audio)",
        "A family saga told through letters found in the house",
    ),
    DesignArea.ART_DIRECTION: AreaSpec(
        "the visual style and the mood it conveys",
        "style, palette, visual tone, animation style, what visuals must communicate",
        "HUD and menus (interface); the story told (narrative)",
        "Hand-painted watercolour shores in muted colours",
    ),
    DesignArea.AUDIO: AreaSpec(
        "music, sound effects and voice, and their role in play",
        "soundtrack, sound design, audio cues, voice acting",
        "subtitles and visual cues for deaf players (accessibility)",
        "Every footstep is audible, and hearing the enemy first is how you survive",
    ),
    DesignArea.SOCIAL: AreaSpec(
        "playing with or against others, and the community around the game",
        "co-op, competition, matchmaking, guilds, chat, leaderboards, sharing creations",
        "companion characters controlled by the game (narrative)",
        "Two friends share one couch and one ship",
    ),
    DesignArea.ECONOMY: AreaSpec(
        "in-game resources earned and spent through play, and their balance",
        "currencies earned in play, crafting, trading, resource sinks, scarcity",
        "anything bought with real money (monetisation)",
        "Every plank is scavenged, and building the raft means choosing what not to build",
    ),
    DesignArea.MONETISATION: AreaSpec(
        "how the game earns money and what players pay for",
        "price, expansions, subscriptions, ads, premium currency, battle passes, cosmetics",
        "the schedule of updates and events (live_operations)",
        "One price, every future map free",
    ),
    DesignArea.LIVE_OPERATIONS: AreaSpec(
        "what keeps the game alive after launch",
        "seasons, events, content updates and their cadence, balance patches, servers",
        "what players pay for them (monetisation)",
        "A new season every ten weeks with its own map and rules",
    ),
    DesignArea.ONBOARDING: AreaSpec(
        "how new players learn the game in their first sessions",
        "tutorials, the first hour, teaching mechanics, first-time user experience",
        "the difficulty curve after that (challenge)",
        "The first island teaches every verb without a line of text",
    ),
    DesignArea.REPLAYABILITY: AreaSpec(
        "reasons to play again: variety, generation, alternative paths, mastery goals",
        "procedural generation, branching paths, new-game-plus, daily challenges",
        "unlocks on a first playthrough (progression)",
        "Every run deals a new map and a new hand",
    ),
    DesignArea.PLAYER_EXPRESSION: AreaSpec(
        "choices that let players make the game their own",
        "customisation, builds, playstyles, creation and building tools",
        "sharing what they make with others (social)",
        "Any ship you can imagine can be built and flown",
    ),
    DesignArea.ACCESSIBILITY: AreaSpec(
        "who can play: options for abilities, ages, reading levels and skill levels",
        "remapping, subtitles, colour-blind modes, assist and difficulty options, one-handed play",
        "the default difficulty and its curve (challenge)",
        "Every puzzle can be solved with one hand, and subtitles describe every sound",
    ),
    DesignArea.SESSION_STRUCTURE: AreaSpec(
        "session length and pacing: when a session can start and stop",
        "session length, save points, chapter breaks, energy timers, daily rhythms",
        "what the player does within the session (core_loop)",
        "A full match fits in a bus ride, and quitting mid-match costs nothing",
    ),
}

#: One line per area, the text the prompts list.
AREA_DEFINITIONS: dict[DesignArea, str] = {
    area: spec.definition for area, spec in AREA_SPECS.items()
}


def format_areas() -> str:
    """The vocabulary as prompt text, one area per line."""
    return "\n".join(f"- {area.value}: {text}" for area, text in AREA_DEFINITIONS.items())
