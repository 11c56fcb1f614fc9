"""Agentic mode: specialist agents in parallel, merged generically, then cross-checked.

    START -> plan -(Send)-> completeness | contradictions | context -> merge
          -> cross_check (x rounds) -> END

``build_graph(plan)`` compiles one graph per ``AgentPlan``, with each specialist as a
node of its own name (so LangGraph Studio shows each agent's input, output and timing);
``build_graph(None)`` serves every operation without a plan through a single ``agent``
node. ``plan`` validates the input and fans out, by ``Send``, to the agents that apply;
they run concurrently (threads under ``invoke``, tasks under ``ainvoke``) and write
their result into ``findings`` (or their typed error into ``failures``), both with a
dict-merge reducer. ``merge`` fills the response schema from the findings as the plan
declares (a failed agent's field stays null); ``cross_check`` lets a reviewer see every
finding and reconcile them for a configurable number of rounds (0 = plain merge).
"""

from __future__ import annotations

from typing import Any

from langgraph.graph import END, START
from langgraph.types import Send

from backend.llm import exceptions as errors
from backend.llm.plans import AgentPlan
from backend.llm.types import AgenticMetrics, NodeMetrics
from graphs._agentic_nodes import AGENT, CROSS_CHECK, agent_node, cross_check_node, plan_of
from graphs._nodes import graph_builder, run_context
from graphs._state import AgenticState, OrchestratorInput

__all__ = ["build_graph"]

PLAN, MERGE = "plan", "merge"


def _agentic_metrics(plan: AgentPlan, state: AgenticState) -> AgenticMetrics:
    agents = [
        NodeMetrics.model_validate(n)
        for n in state.get("nodes", [])
        if n["node"].startswith("agent:")
    ]
    starts = [n.started_at for n in agents if n.started_at is not None]
    ends = [n.finished_at for n in agents if n.finished_at is not None]
    slowest = max(agents, key=lambda n: n.duration_ms, default=None)
    return AgenticMetrics(
        plan="single_agent" if plan.is_single_agent else "multi_agent",
        agents=[n.node.removeprefix("agent:") for n in agents],
        failed_agents=sorted(state.get("failures", {})),
        skipped_agents=state.get("skipped", []),
        parallel_phase_ms=round((max(ends) - min(starts)) * 1000, 3) if starts and ends else 0.0,
        slowest_agent=slowest.node.removeprefix("agent:") if slowest else None,
        slowest_agent_ms=slowest.duration_ms if slowest else 0.0,
        waiting_on_slowest_ms=round((max(ends) - min(ends)) * 1000, 3) if ends else 0.0,
    )


def build_graph(plan: AgentPlan | None = None) -> Any:
    """The compiled agentic graph of ``plan`` (None: the single-agent graph)."""

    def plan_node(state: AgenticState) -> dict[str, Any]:
        operation_id = f"{state['feature']}.{state['operation']}"
        if plan is not None and operation_id != plan.operation_id:
            raise errors.InvalidRequestError(
                f"This graph runs the agents of {plan.operation_id}, not {operation_id}.",
                operation=operation_id,
                suggestion="Use the graph of the operation's plan, or the single-agent graph.",
            )
        handler = run_context().operations.handler(operation_id)
        data = state.get("data") or {}
        handler().validate_input(data)
        skipped = [spec.name for spec in plan_of(plan, state).agents if not spec.applies(data)]
        return {"skipped": skipped, "round": 0}

    def fan_out(state: AgenticState) -> list[Send] | str:
        specs = [s for s in plan_of(plan, state).agents if s.name not in state.get("skipped", [])]
        if not specs:
            return MERGE
        task = OrchestratorInput(
            feature=state["feature"], operation=state["operation"], data=state["data"]
        )
        return [Send(spec.name if plan else AGENT, task) for spec in specs]

    def merge(state: AgenticState) -> dict[str, Any]:
        plan_ = plan_of(plan, state)
        operations = run_context().operations
        findings, failures = state.get("findings", {}), state.get("failures", {})
        if not findings:
            raise errors.AgentFailureError(
                "Every agent failed." if failures else "No agent applies to this input.",
                operation=plan_.operation_id,
                agents=failures,
                suggestion="See context['agents'] for each agent's error.",
            )
        if failures and run_context().strict:
            raise errors.AgentFailureError(
                f"Agent(s) {', '.join(sorted(failures))} failed and the run is strict.",
                operation=plan_.operation_id,
                agents=failures,
                suggestion="Retry, or run without strict to get a degraded result.",
            )
        merged = plan_.merge(
            findings,
            operations.handler(plan_.operation_id).response_schema,
            lambda op: operations.handler(op).response_schema,
        )
        return {
            "results": merged.model_dump(mode="json"),
            "agentic": _agentic_metrics(plan_, state).model_dump(),
        }

    def after_merge(state: AgenticState) -> str:
        return END if state.get("round", 0) >= run_context().rounds else CROSS_CHECK

    agents = [spec.name for spec in plan.agents] if plan else [AGENT]
    builder = graph_builder(AgenticState)
    builder.add_node(PLAN, plan_node)
    for name in agents:
        builder.add_node(name, agent_node(plan, name if plan else None))
        builder.add_edge(name, MERGE)
    builder.add_node(MERGE, merge)
    builder.add_edge(START, PLAN)
    builder.add_conditional_edges(PLAN, fan_out, [*agents, MERGE])
    if plan is not None and plan.cross_check is not None:
        builder.add_node(CROSS_CHECK, cross_check_node(plan))
        builder.add_conditional_edges(MERGE, after_merge, [CROSS_CHECK, END])
        builder.add_conditional_edges(CROSS_CHECK, after_merge, [CROSS_CHECK, END])
    else:
        builder.add_edge(MERGE, END)
    name = f"agentic:{plan.operation_id}" if plan else "agentic:single_agent"
    return builder.compile(name=name)
