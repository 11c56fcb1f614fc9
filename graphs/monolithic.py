"""Monolithic mode: a single-node graph, one prompt per operation (the thesis baseline).

START -> generate -> END
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START

from backend.llm.context import RunContext
from backend.llm.operation_handler import BaseOperationHandler
from backend.llm.retry import Retrying
from graphs._nodes import (
    NodeCall,
    arun_node,
    dual_node,
    graph_builder,
    retrying_for,
    run_context,
    run_node,
    set_up,
)
from graphs._state import OrchestratorState

__all__ = ["NODE", "build_graph"]

NODE = "generate"


def _call(state: OrchestratorState, model_id: str | None) -> NodeCall:
    context = run_context()
    handler = context.operations.get(state["feature"], state["operation"])()
    data = state.get("data") or {}
    handler.validate_input(data)
    messages = handler.build_messages(data)
    return NodeCall.build(NODE, context, messages, handler.response_schema, model_id)


def _start(state: OrchestratorState) -> tuple[BaseOperationHandler, Retrying, RunContext]:
    context = run_context()
    handler = context.operations.get(state["feature"], state["operation"])()
    return handler, retrying_for(context), context


def generate(state: OrchestratorState) -> dict[str, Any]:
    handler, retrying, _ = _start(state)
    value, metrics = run_node(lambda model: _call(state, model), retrying)
    return {"results": handler.to_results(value), "nodes": [metrics]}


async def agenerate(state: OrchestratorState) -> dict[str, Any]:
    # Set-up may read configuration and build providers (files, env): off the loop.
    handler, retrying, context = await set_up(_start, state)
    value, metrics = await arun_node(lambda model: _call(state, model), retrying, context.manager)
    return {"results": handler.to_results(value), "nodes": [metrics]}


def build_graph() -> Any:
    """The compiled monolithic graph; its collaborators come from the run context."""
    builder = graph_builder(OrchestratorState)
    builder.add_node(NODE, dual_node(generate, agenerate, NODE))
    builder.add_edge(START, NODE)
    builder.add_edge(NODE, END)
    return builder.compile(name="monolithic")
