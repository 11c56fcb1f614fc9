"""Agentic mode: specialist agents in parallel, merged by reducers, then cross-checked.

    START -> plan -(Send, one per agent)-> agent x N -> merge -> cross_check (x rounds) -> END

``plan`` validates the input and picks the agents of the operation's ``AgentPlan`` that
apply; the fan-out runs them concurrently (threads under ``invoke``, tasks under
``ainvoke``). Each agent writes its result into ``findings`` (or its typed error into
``failures``): both carry a dict-merge reducer, so parallel writes merge, never clash.
``merge`` builds the operation's response schema from the findings; ``cross_check``
lets a reviewer see every agent's findings and reconcile them, for a configurable
number of rounds (0 = plain merge). A failed agent leaves a degraded result unless
the run is strict; retries follow the plan's ``RetryPolicy`` and its ``retry_on``
predicate, applied inside the node so that a final failure is recorded, not raised.
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START
from langgraph.types import Send

from agents.base import AgentPlan
from backend.llm import exceptions as errors
from backend.llm import setup
from backend.llm.types import AgenticMetrics, NodeMetrics
from graphs._agentic_nodes import (
    CROSS_CHECK,
    across_check,
    arun_agent,
    cross_check,
    handler_of,
    run_agent,
    run_context,
)
from graphs._nodes import dual_node, graph_builder
from graphs._state import AgenticState, AgentTask

# Loaded on its own (LangGraph Studio, scripts), the graph still needs the Django apps,
# whose ready() registers the operation handlers.
setup()

__all__ = ["build_graph", "graph"]

PLAN, AGENT, MERGE = "plan", "agent", "merge"


# -- plan and fan-out ---------------------------------------------------------------------
def plan(state: AgenticState) -> dict[str, Any]:
    handler = handler_of(state)
    data = state.get("data") or {}
    handler().validate_input(data)
    skipped = [spec.name for spec in handler.plan().agents if not spec.applies(data)]
    return {"skipped": skipped, "round": 0}


def fan_out(state: AgenticState) -> list[Send] | str:
    specs = [s for s in handler_of(state).plan().agents if s.name not in state.get("skipped", [])]
    if not specs:
        return MERGE
    return [
        Send(
            AGENT,
            AgentTask(
                feature=state["feature"],
                operation=state["operation"],
                data=state["data"],
                agent=spec.name,
            ),
        )
        for spec in specs
    ]


# -- merge ------------------------------------------------------------------------------------
def _agentic_metrics(plan_: AgentPlan, state: AgenticState) -> AgenticMetrics:
    agents = [
        NodeMetrics.model_validate(n)
        for n in state.get("nodes", [])
        if n["node"].startswith("agent:")
    ]
    starts = [n.started_at for n in agents if n.started_at is not None]
    ends = [n.finished_at for n in agents if n.finished_at is not None]
    slowest = max(agents, key=lambda n: n.duration_ms, default=None)
    return AgenticMetrics(
        plan="multi_agent" if len(plan_.agents) > 1 else "single_agent",
        agents=[n.node.removeprefix("agent:") for n in agents],
        failed_agents=sorted(state.get("failures", {})),
        skipped_agents=state.get("skipped", []),
        parallel_phase_ms=round((max(ends) - min(starts)) * 1000, 3) if starts and ends else 0.0,
        slowest_agent=slowest.node.removeprefix("agent:") if slowest else None,
        slowest_agent_ms=slowest.duration_ms if slowest else 0.0,
        waiting_on_slowest_ms=round((max(ends) - min(ends)) * 1000, 3) if ends else 0.0,
    )


def merge(state: AgenticState) -> dict[str, Any]:
    handler = handler_of(state)
    plan_ = handler.plan()
    findings, failures = state.get("findings", {}), state.get("failures", {})
    if not findings:
        raise errors.AgentFailureError(
            "Every agent failed." if failures else "No agent applies to this input.",
            operation=handler.operation_id,
            agents=failures,
            suggestion="See context['agents'] for each agent's error.",
        )
    if failures and run_context().strict:
        raise errors.AgentFailureError(
            f"Agent(s) {', '.join(sorted(failures))} failed and the run is strict.",
            operation=handler.operation_id,
            agents=failures,
            suggestion="Retry, or run without strict to get a degraded result.",
        )
    merged = plan_.merge(findings, state["data"])
    return {
        "results": merged.model_dump(mode="json"),
        "agentic": _agentic_metrics(plan_, state).model_dump(),
    }


def after_merge(state: AgenticState) -> str:
    plan_ = handler_of(state).plan()
    if plan_.cross_check is None or state.get("round", 0) >= run_context().rounds:
        return END
    return CROSS_CHECK


def build_graph() -> Any:
    builder = graph_builder(AgenticState)
    builder.add_node(PLAN, plan)
    builder.add_node(AGENT, dual_node(run_agent, arun_agent, AGENT))
    builder.add_node(MERGE, merge)
    builder.add_node(CROSS_CHECK, dual_node(cross_check, across_check, CROSS_CHECK))
    builder.add_edge(START, PLAN)
    builder.add_conditional_edges(PLAN, fan_out, [AGENT, MERGE])
    builder.add_edge(AGENT, MERGE)
    builder.add_conditional_edges(MERGE, after_merge, [CROSS_CHECK, END])
    builder.add_conditional_edges(CROSS_CHECK, after_merge, [CROSS_CHECK, END])
    return builder.compile(name="agentic")


graph = build_graph()
