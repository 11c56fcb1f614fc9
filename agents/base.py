"""How an operation is split across specialist agents in agentic mode.

An ``AgentPlan`` names the agents that run in parallel (each reuses the prompt and
schema of a registered operation), how their findings merge into the operation's
response schema, and an optional cross-check in which a reviewer sees every agent's
findings and reconciles them. Operations without a plan run as one agent.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from langgraph.types import RetryPolicy
from pydantic import BaseModel

from backend.llm import exceptions as errors

__all__ = [
    "DEFAULT_AGENT_RETRY",
    "AgentPlan",
    "AgentSpec",
    "CrossCheck",
    "Findings",
    "is_transient",
    "single_agent_plan",
]

#: Agent name -> its validated result (``model_dump(mode="json")``).
Findings = Mapping[str, dict[str, Any]]


def is_transient(error: BaseException) -> bool:
    """Worth another attempt: rate limits, timeouts, an unreachable or failing provider.

    Never an authentication, permission or input error (they fail the same way again),
    and not a schema failure (the structured call already retried that once).
    """
    if isinstance(
        error, errors.RateLimitError | errors.TimeoutError | errors.ModelUnavailableError
    ):
        return True
    return isinstance(error, errors.ProviderError) and "sdk_error" in error.context


DEFAULT_AGENT_RETRY = RetryPolicy(
    initial_interval=0.25,
    backoff_factor=2.0,
    max_interval=4.0,
    max_attempts=2,
    jitter=False,  # the agent node's retry loop applies plain exponential backoff
    retry_on=is_transient,
)


def _always(data: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class AgentSpec:
    """One specialist: ``operation_id`` supplies its input check, prompt and schema."""

    name: str
    operation_id: str
    #: Whether the agent has anything to do for this input (else it is skipped).
    applies: Callable[[Mapping[str, Any]], bool] = _always


@dataclass(frozen=True)
class CrossCheck:
    """Agent-to-agent step: a reviewer reads all findings and adjusts the merged result."""

    schema: type[BaseModel]
    build_prompt: Callable[[BaseModel, Findings, Mapping[str, Any]], str]
    apply: Callable[[BaseModel, BaseModel], BaseModel]


@dataclass(frozen=True)
class AgentPlan:
    agents: tuple[AgentSpec, ...]
    #: Findings (of the agents that succeeded) and the request data -> the response.
    merge: Callable[[Findings, Mapping[str, Any]], BaseModel]
    cross_check: CrossCheck | None = None
    retry: RetryPolicy = field(default=DEFAULT_AGENT_RETRY)

    def agent(self, name: str) -> AgentSpec:
        return next(spec for spec in self.agents if spec.name == name)


def single_agent_plan(operation_id: str, response_schema: type[BaseModel]) -> AgentPlan:
    """The plan of an operation with no specialists: its own handler as the one agent."""
    name = operation_id.partition(".")[2]
    return AgentPlan(
        agents=(AgentSpec(name=name, operation_id=operation_id),),
        merge=lambda findings, data: response_schema.model_validate(findings[name]),
    )
