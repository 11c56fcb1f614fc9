"""Graph state shared by both modes. Fields written by parallel nodes carry reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Any

from pydantic import Field
from typing_extensions import TypedDict  # pydantic needs it for JSON schemas on 3.11

__all__ = [
    "AgenticState",
    "OrchestratorInput",
    "OrchestratorOutput",
    "OrchestratorState",
    "merge_dicts",
]


class OrchestratorInput(TypedDict):
    """What to run: ``feature`` and ``operation`` name a registered handler."""

    feature: Annotated[str, Field(description="The feature, e.g. 'pillars'.")]
    operation: Annotated[
        str,
        Field(description="The operation, e.g. 'validate' (see `manage.py llm operations`)."),
    ]
    data: Annotated[
        dict[str, Any],
        Field(
            description="The operation's input, e.g. {'name': ..., 'description': ...} or "
            "{'pillars': [{'name': ..., 'description': ...}], 'context': {'genre': ...}}."
        ),
    ]


class OrchestratorOutput(TypedDict, total=False):
    results: dict[str, Any]
    nodes: list[dict[str, Any]]
    #: Agentic mode only: AgenticMetrics.model_dump().
    agentic: dict[str, Any]


class OrchestratorState(OrchestratorInput, total=False):
    results: dict[str, Any]
    #: One metrics dict per node run (NodeMetrics.model_dump()); appended in parallel.
    nodes: Annotated[list[dict[str, Any]], operator.add]
    agentic: dict[str, Any]


def merge_dicts(left: dict[str, Any], right: dict[str, Any]) -> dict[str, Any]:
    """Reducer for fields that parallel agents write, each under its own key."""
    return {**left, **right}


class AgenticState(OrchestratorState, total=False):
    #: Agent name -> its validated result.
    findings: Annotated[dict[str, dict[str, Any]], merge_dicts]
    #: Agent name -> its typed error (``to_dict()``).
    failures: Annotated[dict[str, dict[str, Any]], merge_dicts]
    skipped: list[str]
    round: int
