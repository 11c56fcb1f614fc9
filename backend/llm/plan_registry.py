"""Which ``AgentPlan`` serves which operation in agentic mode; like the handler registry.

Agents register the plan of the operation they serve (``register_plan(plan)``, from
their app's ``ready()``); the plan is checked against the operation's handler then.
An operation with no registered plan runs as a single agent.
"""

from __future__ import annotations

import threading

from ._opaque import Opaque
from .handler_registry import AlreadyRegistered, HandlerRegistry, registry
from .plans import AgentPlan, PlanError, single_agent_plan

__all__ = ["PlanRegistry", "plan_registry", "register_plan"]


class PlanRegistry(Opaque):
    def __init__(self) -> None:
        self._plans: dict[str, AgentPlan] = {}
        self._lock = threading.Lock()

    def register(self, plan: AgentPlan, *, handlers: HandlerRegistry | None = None) -> AgentPlan:
        """Check ``plan`` against its operation's handler in ``handlers`` and add it."""
        handlers = handlers or registry
        if plan.operation_id not in handlers:
            raise PlanError(
                f"No handler is registered for {plan.operation_id!r}: register the operation "
                "before its plan (list the feature's app before the agents' in INSTALLED_APPS)."
            )
        handler = handlers.handler(plan.operation_id)
        plan.check(handler.response_schema, lambda op: handlers.handler(op).response_schema)
        with self._lock:
            existing = self._plans.get(plan.operation_id)
            if existing is not None and existing is not plan:
                raise AlreadyRegistered(f"{plan.operation_id!r} already has an agent plan.")
            self._plans[plan.operation_id] = plan
        return plan

    def unregister(self, operation_id: str) -> None:
        with self._lock:
            self._plans.pop(operation_id, None)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self._plans

    def get(self, operation_id: str) -> AgentPlan:
        """The registered plan, or the single-agent plan of an operation without one."""
        return self._plans.get(operation_id) or single_agent_plan(operation_id)

    def max_agents(self) -> int:
        """The most agents any plan runs at once (sizes the embedded server's slots)."""
        return max((len(plan.agents) for plan in self._plans.values()), default=1)


#: The process-wide registry agents register into.
plan_registry = PlanRegistry()


def register_plan(plan: AgentPlan) -> AgentPlan:
    """Register ``plan`` for ``plan.operation_id`` in the process-wide registries."""
    return plan_registry.register(plan)
