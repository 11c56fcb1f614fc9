"""Monolithic mode: a single-node graph, one prompt per operation (the thesis baseline).

START -> generate -> END
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START

from graphs._nodes import (
    NodeCall,
    arun_node,
    dual_node,
    graph_builder,
    retrying_for,
    run_context,
    run_node,
)
from graphs._state import OrchestratorState

__all__ = ["NODE", "build_graph"]

NODE = "generate"


def _call(state: OrchestratorState) -> tuple[NodeCall, Any]:
    context = run_context()
    handler = context.operations.get(state["feature"], state["operation"])()
    data = state.get("data") or {}
    handler.validate_input(data)
    call = NodeCall.build(NODE, context, handler.build_messages(data), handler.response_schema)
    return call, handler


def generate(state: OrchestratorState) -> dict[str, Any]:
    handler = run_context().operations.get(state["feature"], state["operation"])()
    value, metrics = run_node(lambda: _call(state)[0], retrying_for(run_context()))
    return {"results": handler.to_results(value), "nodes": [metrics]}


async def agenerate(state: OrchestratorState) -> dict[str, Any]:
    handler = run_context().operations.get(state["feature"], state["operation"])()
    value, metrics = await arun_node(lambda: _call(state)[0], retrying_for(run_context()))
    return {"results": handler.to_results(value), "nodes": [metrics]}


def build_graph() -> Any:
    """The compiled monolithic graph; its collaborators come from the run context."""
    builder = graph_builder(OrchestratorState)
    builder.add_node(NODE, dual_node(generate, agenerate, NODE))
    builder.add_edge(START, NODE)
    builder.add_edge(NODE, END)
    return builder.compile(name="monolithic")
