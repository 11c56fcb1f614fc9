"""Monolithic mode: a single-node graph, one prompt per operation (the thesis baseline)."""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START
from langgraph.runtime import get_runtime

from backend.llm import setup
from backend.llm.context import RunContext
from backend.llm.handler_registry import registry
from graphs._nodes import NodeCall, arun_node, dual_node, graph_builder, run_node
from graphs._state import OrchestratorState

# Loaded on its own (LangGraph Studio, scripts), the graph still needs the Django apps,
# whose ready() registers the operation handlers.
setup()

__all__ = ["NODE", "build_graph", "graph"]

NODE = "generate"


def _call(state: OrchestratorState) -> tuple[NodeCall, Any]:
    handler = registry.get(state["feature"], state["operation"])()
    data = state.get("data") or {}
    handler.validate_input(data)
    call = NodeCall.build(
        NODE, get_runtime(RunContext).context, handler.build_messages(data), handler.response_schema
    )
    return call, handler


def generate(state: OrchestratorState) -> dict[str, Any]:
    call, handler = _call(state)
    value, metrics = run_node(call)
    return {"results": handler.to_results(value), "nodes": [metrics]}


async def agenerate(state: OrchestratorState) -> dict[str, Any]:
    handler = registry.get(state["feature"], state["operation"])()
    value, metrics = await arun_node(lambda: _call(state)[0])
    return {"results": handler.to_results(value), "nodes": [metrics]}


def build_graph() -> Any:
    builder = graph_builder(OrchestratorState)
    builder.add_node(NODE, dual_node(generate, agenerate, NODE))
    builder.add_edge(START, NODE)
    builder.add_edge(NODE, END)
    return builder.compile(name="monolithic")


graph = build_graph()
