"""The agentic graph's model-calling nodes: a specialist agent, and the cross-check.

Both have a sync body (``invoke``: LangGraph runs parallel agents in threads) and an
async one (``ainvoke``: tasks on the loop); they differ only in how they wait. Each
node is built for its plan (and agent), so it needs nothing global: the registries and
the model manager come from the run context.
"""

from __future__ import annotations

import time
from typing import Any

from langchain_core.messages import HumanMessage, SystemMessage
from langchain_core.runnables import Runnable

from backend.llm import exceptions as errors
from backend.llm.context import RunContext
from backend.llm.operation_handler import DEFAULT_SYSTEM_PROMPT
from backend.llm.plans import AgentPlan, AgentSpec, single_agent_plan
from backend.llm.retry import Retrying
from graphs._nodes import (
    NodeCall,
    arun_node,
    dual_node,
    node_metrics,
    retrying_for,
    run_context,
    run_node,
    set_up,
)
from graphs._state import AgenticState, OrchestratorInput

__all__ = ["AGENT", "CROSS_CHECK", "agent_node", "cross_check_node", "plan_of"]

#: The node of a single-agent plan; the specialists of a plan are nodes of their own name.
AGENT = "agent"
CROSS_CHECK = "cross_check"


def plan_of(bound: AgentPlan | None, state: OrchestratorInput) -> AgentPlan:
    """The graph's own plan, or the single-agent plan of the requested operation."""
    return bound or single_agent_plan(f"{state['feature']}.{state['operation']}")


# -- one agent ------------------------------------------------------------------------------
class _AgentRun:
    """One agent's tries; the sync and async node bodies differ only in how they wait."""

    def __init__(self, plan: AgentPlan, spec: AgentSpec, state: OrchestratorInput) -> None:
        self.plan = plan
        self.spec = spec
        self.context: RunContext = run_context()
        self.handler = self.context.operations.handler(spec.operation_id)()
        self.data = state["data"]
        self.node = f"agent:{spec.name}"
        self.started = time.perf_counter()
        self.retrying = retrying_for(self.context, self.context.agent_model(spec.name))

    def call(self, model_id: str | None) -> NodeCall:
        self.handler.validate_input(self.data)
        return NodeCall.build(
            self.node,
            self.context,
            self.handler.build_messages(self.data),
            self.handler.response_schema,
            model_id=model_id,
        )

    def succeeded(self, value: Any, metrics: dict[str, Any]) -> dict[str, Any]:
        return {"findings": {self.spec.name: self.handler.to_results(value)}, "nodes": [metrics]}

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
            retries=max(0, self.retrying.tries - 1),
            retry_log=self.retrying.log,
            fallbacks=self.retrying.fallbacks,
            model_id=error.context.get("model"),
        )
        return {"failures": {self.spec.name: error.to_dict()}, "nodes": [metrics]}


def agent_node(plan: AgentPlan | None, name: str | None) -> Runnable[Any, Any]:
    """The node of agent ``name`` of ``plan``; ``(None, None)``: the one agent of whatever
    operation is requested (its single-agent plan)."""

    def start(state: OrchestratorInput) -> _AgentRun:
        plan_ = plan_of(plan, state)
        return _AgentRun(plan_, plan_.agent(name) if name else plan_.agents[0], state)

    def run(state: OrchestratorInput) -> dict[str, Any]:
        agent = start(state)
        try:
            return agent.succeeded(*run_node(agent.call, agent.retrying))
        except Exception as error:  # a failed agent must not lose the others' work
            return agent.failed(error)

    async def arun(state: OrchestratorInput) -> dict[str, Any]:
        # Set-up may read configuration and build providers (files, env): off the loop.
        agent = await set_up(start, state)
        try:
            return agent.succeeded(
                *await arun_node(agent.call, agent.retrying, agent.context.manager)
            )
        except Exception as error:
            return agent.failed(error)

    return dual_node(run, arun, name or AGENT)


# -- cross-check (agent-to-agent) ---------------------------------------------------------------
class _Review:
    """One cross-check round: the merged result, and a builder for the reviewer's call
    (building resolves models, which may block: the async body runs it in a thread)."""

    def __init__(self, plan: AgentPlan, state: AgenticState) -> None:
        assert plan.cross_check is not None
        self.plan, self.state, self.check = plan, state, plan.cross_check
        self.context = run_context()
        handler = self.context.operations.handler(plan.operation_id)
        self.merged = handler.response_schema.model_validate(state["results"])
        self.round = state.get("round", 0) + 1
        self.node = f"{CROSS_CHECK}:{self.round}"
        self.started = time.perf_counter()

    def build(self, model_id: str | None) -> NodeCall:
        prompt = self.check.build_prompt(
            self.merged, self.state.get("findings", {}), self.state["data"]
        )
        return NodeCall.build(
            self.node,
            self.context,
            [SystemMessage(DEFAULT_SYSTEM_PROMPT), HumanMessage(prompt)],
            self.check.schema,
            model_id=model_id,
        )

    def retrying(self) -> Retrying:
        return retrying_for(self.context, self.context.agent_model(CROSS_CHECK))

    def reviewed(self, value: Any, metrics: dict[str, Any]) -> dict[str, Any]:
        updated = self.check.apply(self.merged, value)
        return {
            "results": updated.model_dump(mode="json"),
            "round": self.round,
            "nodes": [metrics],
            "agentic": {**self.state.get("agentic", {}), "cross_check_rounds": self.round},
        }

    def failed(self, error: errors.LLMOrchestratorError) -> dict[str, Any]:
        if self.context.strict:
            raise error
        # The merged result stands; the run is marked degraded by the failed node.
        metrics = node_metrics(
            self.node,
            self.started,
            status="failed",
            error=error.to_dict(),
            model_id=error.context.get("model"),
        )
        return {"round": self.round, "nodes": [metrics]}


def cross_check_node(plan: AgentPlan) -> Runnable[Any, Any]:
    def run(state: AgenticState) -> dict[str, Any]:
        review = _Review(plan, state)
        try:
            return review.reviewed(*run_node(review.build, review.retrying()))
        except errors.LLMOrchestratorError as error:
            return review.failed(error)

    async def arun(state: AgenticState) -> dict[str, Any]:
        review = await set_up(_Review, plan, state)
        try:
            retrying = await set_up(review.retrying)
            return review.reviewed(*await arun_node(review.build, retrying, review.context.manager))
        except errors.LLMOrchestratorError as error:
            return review.failed(error)

    return dual_node(run, arun, CROSS_CHECK)
