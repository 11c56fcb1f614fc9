"""The agentic graph's model-calling nodes: one specialist agent, and the cross-check.

Both have a sync body (``invoke``: LangGraph runs parallel agents in threads) and an
async one (``ainvoke``: tasks on the loop); they differ only in how they wait.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langgraph.runtime import get_runtime

from agents.base import AgentPlan, AgentSpec
from backend.llm import exceptions as errors
from backend.llm.context import RunContext
from backend.llm.handler_registry import get_handler, registry
from backend.llm.operation_handler import DEFAULT_SYSTEM_PROMPT, BaseOperationHandler
from graphs._nodes import NodeCall, arun_node, node_metrics, run_node
from graphs._state import AgenticState, AgentTask, OrchestratorInput

__all__ = [
    "CROSS_CHECK",
    "across_check",
    "arun_agent",
    "cross_check",
    "handler_of",
    "run_agent",
    "run_context",
]

CROSS_CHECK = "cross_check"


def handler_of(state: OrchestratorInput) -> type[BaseOperationHandler]:
    return registry.get(state["feature"], state["operation"])


def run_context() -> RunContext:
    return get_runtime(RunContext).context


# -- one agent ------------------------------------------------------------------------------
class _AgentRun:
    """One agent's tries; the sync and async node bodies differ only in how they wait."""

    def __init__(self, task: AgentTask) -> None:
        self.plan: AgentPlan = handler_of(task).plan()
        self.spec: AgentSpec = self.plan.agent(task["agent"])
        self.handler = get_handler(self.spec.operation_id)()
        self.data = task["data"]
        self.context = run_context()
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


# -- cross-check (agent-to-agent) ---------------------------------------------------------------
def _review_call(state: AgenticState) -> tuple[str, AgentPlan, Any, Callable[[], NodeCall]]:
    """The reviewer's node name, plan, merged result, and a builder for its model call
    (building resolves models, which may block: the async body runs it in a thread)."""
    handler = handler_of(state)
    plan_ = handler.plan()
    assert plan_.cross_check is not None
    merged = handler.response_schema.model_validate(state["results"])
    prompt = plan_.cross_check.build_prompt(merged, state.get("findings", {}), state["data"])
    node = f"{CROSS_CHECK}:{state.get('round', 0) + 1}"
    schema = plan_.cross_check.schema
    context = run_context()

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
    if run_context().strict:
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
