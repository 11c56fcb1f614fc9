"""LangGraph graph definitions, built by pure factories (importing them does nothing).

``compiled_graph(mode, plan)`` is how the orchestrator gets a graph: compiled once per
mode and plan, then reused. ``graphs.studio`` is the entry module that
``langgraph.json`` names.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from backend.llm.plans import AgentPlan

from . import agentic, monolithic

__all__ = ["compiled_graph"]


def compiled_graph(mode: str, plan: AgentPlan | None = None) -> Any:
    """The graph of ``mode``; agentic graphs are per plan, and every single-agent plan
    shares one graph."""
    if mode != "agentic" or (plan is not None and plan.is_single_agent):
        plan = None
    return _compile(mode, plan)


@lru_cache(maxsize=64)
def _compile(mode: str, plan: AgentPlan | None) -> Any:
    if mode == "agentic":
        return agentic.build_graph(plan)
    return monolithic.build_graph()
