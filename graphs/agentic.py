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

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.graph import END, START
from langgraph.runtime import get_runtime
from langgraph.types import Send

from agents.base import AgentPlan, AgentSpec
from backend.llm import exceptions as errors
from backend.llm import setup
from backend.llm.context import RunContext
from backend.llm.handler_registry import get_handler, registry
from backend.llm.operation_handler import DEFAULT_SYSTEM_PROMPT, BaseOperationHandler
from backend.llm.types import AgenticMetrics, NodeMetrics
from graphs._nodes import NodeCall, arun_node, dual_node, graph_builder, node_metrics, run_node
from graphs._state import AgenticState, AgentTask, OrchestratorInput

# Loaded on its own (LangGraph Studio, scripts), the graph still needs the Django apps,
# whose ready() registers the operation handlers.
setup()

__all__ = ["build_graph", "graph"]

PLAN, AGENT, MERGE, CROSS_CHECK = "plan", "agent", "merge", "cross_check"


def _handler(state: OrchestratorInput) -> type[BaseOperationHandler]:
    return registry.get(state["feature"], state["operation"])


def _context() -> RunContext:
    return get_runtime(RunContext).context


# -- plan and fan-out ---------------------------------------------------------------------
def plan(state: AgenticState) -> dict[str, Any]:
    handler = _handler(state)
    data = state.get("data") or {}
    handler().validate_input(data)
    skipped = [spec.name for spec in handler.plan().agents if not spec.applies(data)]
    return {"skipped": skipped, "round": 0}


def fan_out(state: AgenticState) -> list[Send] | str:
    specs = [s for s in _handler(state).plan().agents if s.name not in state.get("skipped", [])]
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


# -- one agent ------------------------------------------------------------------------------
class _AgentRun:
    """One agent's tries; the sync and async node bodies differ only in how they wait."""

    def __init__(self, task: AgentTask) -> None:
        self.plan: AgentPlan = _handler(task).plan()
        self.spec: AgentSpec = self.plan.agent(task["agent"])
        self.handler = get_handler(self.spec.operation_id)()
        self.data = task["data"]
        self.context = _context()
        self.node = f"agent:{self.spec.name}"
        self.started = time.perf_counter()
        self.tries = 0

    def call(self) -> NodeCall:
        self.tries += 1
        self.handler.validate_input(self.data)
        return NodeCall.build(
            self.node,
            self.context,
            self.handler.build_messages(self.data),
            self.handler.response_schema,
            model_id=self.context.agent_model(self.spec.name),
        )

    def succeeded(self, value: Any, metrics: dict[str, Any]) -> dict[str, Any]:
        metrics.update(retries=self.tries - 1, duration_ms=self._elapsed_ms())
        return {"findings": {self.spec.name: self.handler.to_results(value)}, "nodes": [metrics]}

    def retry_delay(self, error: errors.LLMOrchestratorError) -> float | None:
        policy = self.plan.retry
        if self.tries >= policy.max_attempts or not policy.retry_on(error):  # type: ignore[operator]
            return None
        return float(
            min(
                policy.max_interval,
                policy.initial_interval * policy.backoff_factor ** (self.tries - 1),
            )
        )

    def failed(self, error: Exception) -> dict[str, Any]:
        if not isinstance(error, errors.LLMOrchestratorError):
            error = errors.AgentFailureError(
                f"Agent {self.spec.name!r} raised {type(error).__name__}.",
                agent=self.spec.name,
                cause=type(error).__name__,
            )
        error.context.setdefault("agent", self.spec.name)
        metrics = node_metrics(
            self.node,
            self.started,
            status="failed",
            error=error.to_dict(),
            retries=self.tries - 1,
            model_id=error.context.get("model"),
        )
        return {"failures": {self.spec.name: error.to_dict()}, "nodes": [metrics]}

    def _elapsed_ms(self) -> float:
        return round((time.perf_counter() - self.started) * 1000, 3)


def run_agent(task: AgentTask) -> dict[str, Any]:
    agent = _AgentRun(task)
    while True:
        try:
            return agent.succeeded(*run_node(agent.call()))
        except errors.LLMOrchestratorError as error:
            if (delay := agent.retry_delay(error)) is None:
                return agent.failed(error)
            time.sleep(delay)
        except Exception as error:  # a bug in one agent must not lose the others' work
            return agent.failed(error)


async def arun_agent(task: AgentTask) -> dict[str, Any]:
    agent = _AgentRun(task)
    while True:
        try:
            return agent.succeeded(*await arun_node(agent.call))
        except errors.LLMOrchestratorError as error:
            if (delay := agent.retry_delay(error)) is None:
                return agent.failed(error)
            await asyncio.sleep(delay)
        except Exception as error:
            return agent.failed(error)


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
    handler = _handler(state)
    plan_ = handler.plan()
    findings, failures = state.get("findings", {}), state.get("failures", {})
    if not findings:
        raise errors.AgentFailureError(
            "Every agent failed." if failures else "No agent applies to this input.",
            operation=handler.operation_id,
            agents=failures,
            suggestion="See context['agents'] for each agent's error.",
        )
    if failures and _context().strict:
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
    plan_ = _handler(state).plan()
    if plan_.cross_check is None or state.get("round", 0) >= _context().rounds:
        return END
    return CROSS_CHECK


# -- cross-check (agent-to-agent) ---------------------------------------------------------------
def _review_call(state: AgenticState) -> tuple[str, AgentPlan, Any, Callable[[], NodeCall]]:
    """The reviewer's node name, plan, merged result, and a builder for its model call
    (building resolves models, which may block: the async body runs it in a thread)."""
    handler = _handler(state)
    plan_ = handler.plan()
    assert plan_.cross_check is not None
    merged = handler.response_schema.model_validate(state["results"])
    prompt = plan_.cross_check.build_prompt(merged, state.get("findings", {}), state["data"])
    node = f"{CROSS_CHECK}:{state.get('round', 0) + 1}"
    schema = plan_.cross_check.schema
    context = _context()

    def build() -> NodeCall:
        return NodeCall.build(
            node,
            context,
            [SystemMessage(DEFAULT_SYSTEM_PROMPT), HumanMessage(prompt)],
            schema,
            model_id=context.agent_model(CROSS_CHECK),
        )

    return node, plan_, merged, build


def _reviewed(
    state: AgenticState, plan_: AgentPlan, merged: Any, value: Any, metrics: dict[str, Any]
) -> dict[str, Any]:
    assert plan_.cross_check is not None
    rounds = state.get("round", 0) + 1
    updated = plan_.cross_check.apply(merged, value)
    return {
        "results": updated.model_dump(mode="json"),
        "round": rounds,
        "nodes": [metrics],
        "agentic": {**state.get("agentic", {}), "cross_check_rounds": rounds},
    }


def _review_failed(
    state: AgenticState, node: str, started: float, error: errors.LLMOrchestratorError
) -> dict[str, Any]:
    if _context().strict:
        raise error
    # The merged result stands; the run is marked degraded by the failed node.
    metrics = node_metrics(
        node, started, status="failed", error=error.to_dict(), model_id=error.context.get("model")
    )
    return {"round": state.get("round", 0) + 1, "nodes": [metrics]}


def cross_check(state: AgenticState) -> dict[str, Any]:
    started = time.perf_counter()
    node, plan_, merged, build = _review_call(state)
    try:
        value, metrics = run_node(build())
    except errors.LLMOrchestratorError as error:
        return _review_failed(state, node, started, error)
    return _reviewed(state, plan_, merged, value, metrics)


async def across_check(state: AgenticState) -> dict[str, Any]:
    started = time.perf_counter()
    node, plan_, merged, build = _review_call(state)
    try:
        value, metrics = await arun_node(build)
    except errors.LLMOrchestratorError as error:
        return _review_failed(state, node, started, error)
    return _reviewed(state, plan_, merged, value, metrics)


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
