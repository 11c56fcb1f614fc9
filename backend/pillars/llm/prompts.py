"""Prompt templates of the pillar operations (``str.format`` placeholders).

A design pillar is a short statement of what the game must deliver to the player
("Every fight is a puzzle"), used to decide what goes in and what stays out.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "EVALUATE",
    "EVALUATE_COMPLETENESS",
    "EVALUATE_CONTEXT",
    "EVALUATE_CONTRADICTIONS",
    "IMPROVE",
    "SUGGEST_ADDITIONS",
    "VALIDATE",
    "format_context",
    "format_pillars",
]


def format_pillars(pillars: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{i}. {p['name'].strip()}: {p['description'].strip()}" for i, p in enumerate(pillars, 1)
    )


def format_context(context: dict[str, Any] | None) -> str:
    if not context:
        return ""
    lines = [f"- {key}: {value}" for key, value in context.items() if value]
    return "Game context:\n" + "\n".join(lines) + "\n\n" if lines else ""


VALIDATE = """\
Review this game design pillar.

Name: {name}
Description: {description}

A good pillar is specific to this game (not true of every game), states the experience
the player should have, is short enough to remember, and can settle a design argument
("does feature X serve this pillar?"). Judge it against those four tests.

Set is_valid to true only if it passes all four. Give a score from 0 to 100, concrete
feedback, one issue per failed test, and, if it is not valid, an improved_version that
keeps the designer's intent.
"""

IMPROVE = """\
Rewrite this game design pillar so that it is specific, player-focused, memorable and
usable to settle design decisions. Keep the designer's intent; do not add new mechanics.

Name: {name}
Description: {description}

Return the improved_version (a name of at most six words and a description of one to
three sentences), the list of changes you made, and the rationale.
"""

EVALUATE_COMPLETENESS = """\
Evaluate whether this set of design pillars covers the game's design adequately.

{context}Pillars:
{pillars}

Judge coverage against these design areas (use their names exactly):
{areas}

List the areas the pillars cover, and the areas that matter for this game (its genre,
audience and platform) that no pillar addresses, each with why it matters here. Not
every game needs every area: a single-player game does not miss "social". Give a score
from 0 to 100 and feedback; set is_complete to true only if nothing important is missing.
"""

EVALUATE_CONTRADICTIONS = """\
Find contradictions between these game design pillars: pairs that push the design in
opposite directions, so that a feature serving one would undermine the other.

{context}Pillars:
{pillars}

For each contradiction name both pillars exactly as written, explain the conflict in
terms of a concrete feature or player moment, and rate its severity (low: a tension a
designer can balance; medium: needs an explicit rule; high: the pillars cannot both
hold). Tension that the context explains away is not a contradiction. If there are
none, return an empty list and has_contradictions false.
"""

SUGGEST_ADDITIONS = """\
Suggest up to three new design pillars that would strengthen this set.

{context}Pillars:
{pillars}

Each suggestion must fill a gap the current pillars leave open, must not duplicate or
contradict an existing pillar, and needs a short name, a one to three sentence
description and a rationale. End with overall feedback.
"""

EVALUATE_CONTEXT = """\
Evaluate how well each design pillar fits the game described by this context.

{context}Pillars:
{pillars}

For each pillar give its name exactly as written, a score from 0 to 100 for alignment
with the genre, audience, platform and vision, and a note on what fits or clashes.
Then give an overall score and feedback.
"""

EVALUATE = """\
Review this set of game design pillars as a whole.

{context}Pillars:
{pillars}

1. Completeness: which of these design areas (named exactly) the pillars cover, which
   areas that matter for this game no pillar addresses and why, a score from 0 to 100,
   and whether the set is complete:
{areas}
2. Contradictions: pairs of pillars (named exactly as written) that push the design in
   opposite directions, with the concrete conflict and a severity (low, medium, high).
   Tension that the context explains away is not a contradiction.
3. Context alignment (only if a game context is given, otherwise null): for each pillar
   a score from 0 to 100 and a note on how it fits the genre, audience, platform and
   vision, and an overall score.

Finish with an overall_score from 0 to 100 for the set and a short summary.
"""
