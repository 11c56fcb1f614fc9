"""How agentic mode splits an operation across specialist agents.

An ``AgentPlan`` names the agents that run in parallel for one operation. Each agent
reuses the input check, prompt and schema of a registered operation and fills one
field of the operation's response schema; the merge is generic: a failed or skipped
agent leaves its field ``null`` (its typed error is in the run's metadata), and the
plan's score and summary fields are derived from the agents that answered. An
optional ``CrossCheck`` lets a reviewer see every agent's findings and reconcile them.

Plans are checked against the response schema when they are registered
(``plan_registry``), so a plan whose agent would fill nothing fails at start-up,
not silently at run time. Operations without a plan run as a single agent.
"""

from __future__ import annotations

import statistics
import types
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo

from . import exceptions as errors

__all__ = [
    "RESERVED_NODE_NAMES",
    "AgentPlan",
    "AgentSpec",
    "CrossCheck",
    "Findings",
    "PlanError",
    "is_transient",
    "single_agent_plan",
]

#: Agent name -> its validated result (``model_dump(mode="json")``).
Findings = Mapping[str, dict[str, Any]]
#: Node names the agentic graph uses itself; agents cannot take them.
RESERVED_NODE_NAMES = frozenset({"plan", "merge", "cross_check", "agent"})


class PlanError(ValueError):
    """A plan that cannot fill its operation's response schema (a programming error)."""


def is_transient(error: BaseException) -> bool:
    """Worth another attempt: rate limits, timeouts, an unreachable or failing provider.

    Never an authentication, permission or input error (they fail the same way again),
    and not a schema failure (the structured call already retried that once). A 4xx
    other than 408, 425 and 429 (e.g. 404, the model is not there) fails again too.
    """
    status = (
        error.context.get("http_status") if isinstance(error, errors.LLMOrchestratorError) else None
    )
    if isinstance(status, int) and 400 <= status < 500 and status not in (408, 425, 429):
        return False
    if isinstance(
        error, errors.RateLimitError | errors.TimeoutError | errors.ModelUnavailableError
    ):
        return True
    return isinstance(error, errors.ProviderError) and "sdk_error" in error.context


def _always(data: Mapping[str, Any]) -> bool:
    return True


@dataclass(frozen=True)
class AgentSpec:
    """One specialist.

    ``operation_id`` supplies its input check, prompt and response schema; ``field`` is
    the response field its result fills (None: the result is the whole response, for a
    plan of one agent). ``score`` (an attribute name of its result, or a function of
    it) feeds the plan's score field; ``summary`` names the text it adds to the summary.
    """

    name: str
    operation_id: str
    field: str | None
    #: Whether the agent has anything to do for this input (else it is skipped).
    applies: Callable[[Mapping[str, Any]], bool] = _always
    score: str | Callable[[Any], float] | None = None
    summary: str | None = "feedback"

    def score_of(self, result: BaseModel) -> float | None:
        if self.score is None:
            return None
        if callable(self.score):
            return float(self.score(result))
        return float(getattr(result, self.score))

    def summary_of(self, result: BaseModel) -> str:
        return str(getattr(result, self.summary, "") or "") if self.summary else ""


@dataclass(frozen=True)
class CrossCheck:
    """Agent-to-agent step: a reviewer reads all findings and adjusts the merged result."""

    schema: type[BaseModel]
    build_prompt: Callable[[BaseModel, Findings, Mapping[str, Any]], str]
    apply: Callable[[BaseModel, BaseModel], BaseModel]


@dataclass(frozen=True)
class AgentPlan:
    """The agents of one operation, how their results fill its response, and a reviewer."""

    operation_id: str
    agents: tuple[AgentSpec, ...]
    #: Response field set to the mean of the agents' scores (rounded), if any.
    score_field: str | None = None
    #: Response field set to the agents' summaries joined, if any.
    summary_field: str | None = None
    cross_check: CrossCheck | None = None

    @property
    def is_single_agent(self) -> bool:
        return len(self.agents) == 1 and self.agents[0].field is None

    def agent(self, name: str) -> AgentSpec:
        return next(spec for spec in self.agents if spec.name == name)

    @property
    def agent_names(self) -> list[str]:
        return [spec.name for spec in self.agents]

    # -- checked once, when registered ------------------------------------------------
    def check(
        self,
        response_schema: type[BaseModel],
        schema_of: Callable[[str], type[BaseModel]],
    ) -> None:
        """Raise ``PlanError`` unless every agent fills a field that accepts its result
        (or null, when it fails) and every required field is filled by someone."""
        names = self.agent_names
        if not names:
            raise PlanError(f"The plan of {self.operation_id} has no agents.")
        if len(set(names)) != len(names):
            raise PlanError(f"The plan of {self.operation_id} repeats an agent name: {names}.")
        if self.is_single_agent:
            return
        for spec in self.agents:
            # Each agent becomes a graph node of its own name.
            if not spec.name.isidentifier() or spec.name in RESERVED_NODE_NAMES:
                raise PlanError(
                    f"Agent name {spec.name!r} must be an identifier and not one of "
                    f"{sorted(RESERVED_NODE_NAMES)}."
                )
        fields = response_schema.model_fields
        filled: list[str] = []
        for spec in self.agents:
            if spec.field is None or spec.field not in fields:
                raise PlanError(
                    f"Agent {spec.name!r} must fill a field of {response_schema.__name__} "
                    f"(one of {sorted(fields)}), not {spec.field!r}."
                )
            _check_agent_field(spec, fields[spec.field], schema_of(spec.operation_id))
            filled.append(spec.field)
        if len(set(filled)) != len(filled):
            raise PlanError(f"Two agents of {self.operation_id} fill the same field: {filled}.")
        for derived in (self.score_field, self.summary_field):
            if derived is not None and (derived not in fields or derived in filled):
                raise PlanError(f"{derived!r} is not a free field of {response_schema.__name__}.")
        if self.score_field and not any(spec.score is not None for spec in self.agents):
            raise PlanError(f"{self.score_field!r} needs at least one agent with a score.")
        covered = {*filled, self.score_field, self.summary_field}
        missing = [
            name for name, info in fields.items() if info.is_required() and name not in covered
        ]
        if missing:
            raise PlanError(
                f"No agent of {self.operation_id} fills the required field(s) {missing} of "
                f"{response_schema.__name__}."
            )

    # -- the generic merge ------------------------------------------------------------
    def merge(
        self,
        findings: Findings,
        response_schema: type[BaseModel],
        schema_of: Callable[[str], type[BaseModel]],
    ) -> BaseModel:
        """The response from the findings of the agents that answered."""
        if self.is_single_agent:
            return response_schema.model_validate(findings[self.agents[0].name])
        values: dict[str, Any] = {}
        scores: list[float] = []
        summaries: list[str] = []
        for spec in self.agents:
            finding = findings.get(spec.name)
            assert spec.field is not None  # checked at registration
            values[spec.field] = finding
            if finding is None:
                continue
            result = schema_of(spec.operation_id).model_validate(finding)
            if (score := spec.score_of(result)) is not None:
                scores.append(score)
            if text := spec.summary_of(result):
                summaries.append(text)
        if self.score_field:
            values[self.score_field] = round(statistics.fmean(scores)) if scores else None
        if self.summary_field:
            limit = _max_length(response_schema.model_fields[self.summary_field])
            values[self.summary_field] = " ".join(summaries)[:limit]
        return response_schema.model_validate(values)


def _accepts(annotation: Any) -> set[Any]:
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return set(typing.get_args(annotation))
    return {annotation}


def _check_agent_field(spec: AgentSpec, info: FieldInfo, result_schema: type[BaseModel]) -> None:
    accepted = _accepts(info.annotation)
    if result_schema not in accepted:
        raise PlanError(
            f"Agent {spec.name!r} returns {result_schema.__name__}, but field {spec.field!r} "
            f"is {info.annotation}."
        )
    if type(None) not in accepted:
        raise PlanError(
            f"Field {spec.field!r} must accept null: it stays null when agent {spec.name!r} "
            "fails or does not apply."
        )


def _max_length(info: FieldInfo) -> int | None:
    for constraint in info.metadata:
        if (limit := getattr(constraint, "max_length", None)) is not None:
            return int(limit)
    return None


@lru_cache(maxsize=256)
def single_agent_plan(operation_id: str) -> AgentPlan:
    """The plan of an operation with no specialists: its own handler as the one agent."""
    name = operation_id.partition(".")[2]
    return AgentPlan(
        operation_id=operation_id,
        agents=(AgentSpec(name=name, operation_id=operation_id, field=None),),
    )
