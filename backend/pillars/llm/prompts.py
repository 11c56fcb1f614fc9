"""Prompt templates of the pillar operations (``str.format`` placeholders).

A design pillar is a short statement of what the game must deliver to the player
("Every fight is a puzzle"), used to decide what goes in and what stays out.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "COMPLETENESS_TASK",
    "CONTEXT_TASK",
    "CONTRADICTIONS_TASK",
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

# One instruction block per review task. The specialists of agentic mode each get one;
# the monolithic prompt is composed of all three, verbatim, so the modes are told the
# same thing and differ only in architecture (tests/test_prompt_parity.py).
COMPLETENESS_TASK = """\
Judge coverage against these design areas (use their names exactly):
{areas}
List the areas the pillars cover, and the areas that matter for this game (its genre,
audience and platform) that no pillar addresses, each with why it matters here. Not
every game needs every area: a single-player game does not miss "social". Give a score
from 0 to 100 and feedback; set is_complete to true only if nothing important is missing.
"""

CONTRADICTIONS_TASK = """\
Find contradictions: pairs of pillars that push the design in opposite directions, so
that a feature serving one would undermine the other. For each, name both pillars
exactly as written, explain the conflict in terms of a concrete feature or player
moment, and rate its severity: low (a tension a designer can balance), medium (holding
both needs an explicit design rule), high (the pillars cannot both hold in one game).
Tension that the context explains away is not a contradiction. If there are none,
return an empty list and has_contradictions false.
"""

CONTEXT_TASK = """\
For each pillar give its name exactly as written, a score from 0 to 100 for how well it
fits the game's genre, audience, platform and vision (a score under 50 means the pillar
does not fit this game), and a note on what fits or clashes. Then give an overall score
and feedback.
"""

_SET = """\
{context}Pillars:
{pillars}

"""

EVALUATE_COMPLETENESS = (
    "Evaluate whether this set of design pillars covers the game's design adequately.\n\n"
    + _SET
    + COMPLETENESS_TASK
)

EVALUATE_CONTRADICTIONS = (
    "Find contradictions between these game design pillars.\n\n" + _SET + CONTRADICTIONS_TASK
)

SUGGEST_ADDITIONS = """\
Suggest up to three new design pillars that would strengthen this set.

{context}Pillars:
{pillars}

Each suggestion must fill a gap the current pillars leave open, must not duplicate or
contradict an existing pillar, and needs a short name, a one to three sentence
description and a rationale. End with overall feedback.
"""

EVALUATE_CONTEXT = (
    "Evaluate how well each design pillar fits the game described by this context.\n\n"
    + _SET
    + CONTEXT_TASK
)

EVALUATE = (
    "Review this set of game design pillars as a whole, in three parts.\n\n"
    + _SET
    + "1. Completeness.\n"
    + COMPLETENESS_TASK
    + "\n2. Contradictions.\n"
    + CONTRADICTIONS_TASK
    + "\n3. Context alignment (null if no game context is given).\n"
    + CONTEXT_TASK
    + "\nFinish with an overall_score from 0 to 100 for the set and a short summary.\n"
)
