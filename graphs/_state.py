"""Graph state shared by both modes. Fields written by parallel nodes carry reducers."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

__all__ = ["OrchestratorInput", "OrchestratorOutput", "OrchestratorState"]


class OrchestratorInput(TypedDict):
    """What to run: ``feature`` and ``operation`` name a registered handler."""

    feature: str
    operation: str
    data: dict[str, Any]


class OrchestratorOutput(TypedDict, total=False):
    results: dict[str, Any]
    nodes: list[dict[str, Any]]


class OrchestratorState(OrchestratorInput, total=False):
    results: dict[str, Any]
    #: One metrics dict per node run (NodeMetrics.model_dump()); appended in parallel.
    nodes: Annotated[list[dict[str, Any]], operator.add]
