"""Example inputs of every pillar operation (docs, benchmarks, smoke tests)."""

from __future__ import annotations

from typing import Any

__all__ = ["EXAMPLES", "PILLAR", "PILLAR_SET"]

PILLAR: dict[str, Any] = {
    "name": "Core Mechanic",
    "description": "Players solve puzzles to open new areas.",
}
PILLAR_SET: dict[str, Any] = {
    "pillars": [
        {
            "name": "Every fight is a puzzle",
            "description": "Combat rewards planning over reflexes.",
        },
        {"name": "Fast and frantic", "description": "Players react in split seconds."},
        {"name": "Cozy exploration", "description": "A calm world to wander at your own pace."},
        {"name": "Permadeath", "description": "Each run starts from scratch."},
    ],
    "context": {"genre": "roguelike", "audience": "core PC players", "platform": "PC"},
}
#: Operation name -> an input it accepts.
EXAMPLES: dict[str, dict[str, Any]] = {
    "validate": PILLAR,
    "improve": PILLAR,
    "evaluate_completeness": PILLAR_SET,
    "evaluate_contradictions": PILLAR_SET,
    "suggest_additions": PILLAR_SET,
    "evaluate_context": PILLAR_SET,
    "evaluate": PILLAR_SET,
}
