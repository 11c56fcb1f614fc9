"""The closed vocabulary of design areas that completeness is judged on.

A pillar set "covers" an area when at least one pillar tells the team what the game
must deliver there; it "misses" an area that matters for this game and no pillar
addresses. A closed list lets answers be scored exactly (recall of labelled missing
areas) instead of by fuzzy text matching; prompts name it, schemas enforce it.
"""

from __future__ import annotations

from enum import StrEnum

__all__ = ["AREA_DEFINITIONS", "DesignArea", "format_areas"]


class DesignArea(StrEnum):
    CORE_LOOP = "core_loop"
    PROGRESSION = "progression"
    CHALLENGE = "challenge"
    CONTROLS_FEEL = "controls_feel"
    NARRATIVE = "narrative"
    WORLD_TONE = "world_tone"
    ART_DIRECTION = "art_direction"
    AUDIO = "audio"
    SOCIAL = "social"
    ECONOMY = "economy"
    MONETISATION = "monetisation"
    ONBOARDING = "onboarding"
    REPLAYABILITY = "replayability"
    PLAYER_EXPRESSION = "player_expression"
    ACCESSIBILITY = "accessibility"
    SESSION_STRUCTURE = "session_structure"


AREA_DEFINITIONS: dict[DesignArea, str] = {
    DesignArea.CORE_LOOP: "the activity the player repeats minute to minute, and why it is fun",
    DesignArea.PROGRESSION: "how the player, character or world grows and unlocks over time",
    DesignArea.CHALLENGE: "difficulty, its curve, and how failure is handled",
    DesignArea.CONTROLS_FEEL: "input, responsiveness and the physical feel of play",
    DesignArea.NARRATIVE: "story, characters and how they are told",
    DesignArea.WORLD_TONE: "the setting, its rules and its emotional tone",
    DesignArea.ART_DIRECTION: "the visual style and what it must communicate",
    DesignArea.AUDIO: "music, sound effects and voice, and their role in play",
    DesignArea.SOCIAL: "playing with or against others: co-op, competition, community",
    DesignArea.ECONOMY: "resources, currencies, crafting and trading, and their balance",
    DesignArea.MONETISATION: "how the game earns money and what players pay for",
    DesignArea.ONBOARDING: "how new players learn the game in their first sessions",
    DesignArea.REPLAYABILITY: "reasons to play again: variety, generation, mastery goals",
    DesignArea.PLAYER_EXPRESSION: "customisation, builds and creative choices the player makes",
    DesignArea.ACCESSIBILITY: "who can play: options for abilities, ages and skill levels",
    DesignArea.SESSION_STRUCTURE: "session length and pacing for the platform and audience",
}


def format_areas() -> str:
    """The vocabulary as prompt text, one area per line."""
    return "\n".join(f"- {area.value}: {text}" for area, text in AREA_DEFINITIONS.items())
