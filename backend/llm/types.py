"""Request and response types of the orchestrator facade (Pydantic, validated at the boundary)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Annotated, Any, Literal, Self, get_args

import pydantic
from pydantic import (
    AfterValidator,
    AliasChoices,
    BaseModel,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    field_validator,
)

from .exceptions import ValidationError

__all__ = [
    "EXECUTION_MODES",
    "MAX_RUN_TIMEOUT_MS",
    "AgenticMetrics",
    "ExecutionMode",
    "ExecutionOptions",
    "LLMRequest",
    "LLMResponse",
    "ModelDetails",
    "NodeMetrics",
    "NodeStatus",
    "ProviderType",
    "ResponseMetadata",
    "RunSettings",
    "TokenUsage",
    "pydantic_errors",
]

ExecutionMode = Literal["monolithic", "agentic"]
EXECUTION_MODES: tuple[str, ...] = get_args(ExecutionMode)
ProviderType = Literal["cloud", "local"]
NodeStatus = Literal["succeeded", "failed", "skipped"]


def pydantic_errors(exc: pydantic.ValidationError) -> list[dict[str, Any]]:
    """A JSON-safe, input-free summary of Pydantic errors (inputs may be huge or secret)."""
    return [
        {"field": ".".join(str(part) for part in err["loc"]) or "(root)", "error": err["msg"]}
        for err in exc.errors(include_url=False, include_input=False, include_context=False)
    ]


#: The longest deadline a request may ask for (an hour).
MAX_RUN_TIMEOUT_MS = 3_600_000


def _storable_text(value: str) -> str:
    _check_storable(value, depth=0)
    return value


#: Text that reaches a column or a query: no NUL (PostgreSQL refuses it), no lone
#: surrogate (no JSON renderer or UTF-8 column takes it).
SafeText = Annotated[str, AfterValidator(_storable_text)]
ModelRef = Annotated[SafeText, Field(min_length=1, max_length=200)]


class ExecutionOptions(BaseModel):
    """Per-request knobs; anything unknown is rejected so that typos do not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    max_output_tokens: int | None = Field(default=None, ge=16, le=32_768)
    output_retries: int | None = Field(default=None, ge=0, le=5)
    max_attempts: int | None = Field(
        default=None, ge=1, le=10, description="Tries of a call that fails transiently."
    )
    fallback_models: list[ModelRef] | None = Field(
        default=None,
        max_length=5,
        description="Models to try in order when the model fails after its retries "
        "(replaces the configured chain; [] disables fallbacks).",
    )
    agent_models: dict[Annotated[SafeText, Field(max_length=64)], ModelRef] = Field(
        default_factory=dict,
        description="Agentic mode: a model per agent, e.g. {'contradictions': 'openai'}.",
    )
    cross_check_rounds: int | None = Field(
        default=None, ge=0, le=3, description="Agentic mode: reconciliation rounds (0 = merge)."
    )
    strict: StrictBool = Field(
        default=False, description="Agentic mode: fail the run if any agent fails."
    )


class RunSettings(BaseModel):
    """How to run: model, execution mode, deadline and options. In JSON (the REST API)
    ``model_id`` and ``execution_mode`` may be written ``model`` and ``mode``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model_id: SafeText | None = Field(
        default=None,
        max_length=200,
        validation_alias=AliasChoices("model_id", "model"),
        serialization_alias="model",
        description="Alias ('local', 'openai', 'gemini', 'ollama'), 'provider:model' or a bare "
        "model id. None uses the configured default model.",
    )
    execution_mode: SafeText | None = Field(
        default=None,
        max_length=16,
        validation_alias=AliasChoices("execution_mode", "mode"),
        serialization_alias="mode",
        description="'monolithic' or 'agentic'. None uses the configured default mode.",
    )
    # Strict: true is not 1 ms and "100" is not 100 ms.
    timeout_ms: StrictInt | None = Field(
        default=None,
        gt=0,
        le=MAX_RUN_TIMEOUT_MS,
        description="Deadline of the run in milliseconds.",
    )
    options: ExecutionOptions = Field(default_factory=lambda: ExecutionOptions())

    @classmethod
    def parse(cls, payload: Any) -> Self:
        """Build from untrusted input, raising the orchestrator's ValidationError."""
        try:
            return cls.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise ValidationError(
                "The request is invalid: "
                + "; ".join(f"{e['field']}: {e['error']}" for e in pydantic_errors(exc)),
                errors=pydantic_errors(exc),
            ) from None


class LLMRequest(RunSettings):
    """One unit of LLM work: which operation, on what data, with which model and mode."""

    feature: SafeText = Field(min_length=1, max_length=64, description="Feature, e.g. 'pillars'.")
    operation: SafeText = Field(
        min_length=1, max_length=64, description="Operation, e.g. 'validate'."
    )
    data: dict[str, Any] = Field(default_factory=dict, description="The operation's input.")

    @property
    def operation_id(self) -> str:
        return f"{self.feature}.{self.operation}"

    @field_validator("data")
    @classmethod
    def _storable(cls, data: dict[str, Any]) -> dict[str, Any]:
        _check_storable(data, depth=0)
        return data


#: How deep ``data`` may nest (pillar sets need 3; JSON encoders and databases fail
#: somewhere past a few hundred).
MAX_DATA_DEPTH = 16


def _check_storable(value: Any, depth: int) -> None:
    """Reject what cannot be stored or rendered everywhere (PostgreSQL refuses NUL, no
    JSON renderer takes a lone surrogate) before anything is written."""
    if depth > MAX_DATA_DEPTH:
        raise ValueError(f"data nests deeper than {MAX_DATA_DEPTH} levels")
    if isinstance(value, float) and not math.isfinite(value):
        raise ValueError("a number is infinite or NaN (JSON has neither)")
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text contains a NUL character")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("text contains a lone surrogate (not valid Unicode)") from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_storable(key, depth + 1)
            _check_storable(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_storable(item, depth + 1)


class TokenUsage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    total_tokens: int = 0

    def __add__(self, other: TokenUsage) -> TokenUsage:
        return TokenUsage(
            input_tokens=self.input_tokens + other.input_tokens,
            output_tokens=self.output_tokens + other.output_tokens,
            total_tokens=self.total_tokens + other.total_tokens,
        )

    @classmethod
    def from_usage_metadata(cls, usage: Mapping[str, Any] | None) -> TokenUsage:
        if not usage:
            return cls()
        input_tokens = int(usage.get("input_tokens") or 0)
        output_tokens = int(usage.get("output_tokens") or 0)
        total = int(usage.get("total_tokens") or input_tokens + output_tokens)
        return cls(input_tokens=input_tokens, output_tokens=output_tokens, total_tokens=total)


class NodeMetrics(BaseModel):
    """What one graph node (the single generator, or one agent) did."""

    node: str
    model_id: str | None = None
    duration_ms: float = 0.0
    #: Model calls made (a schema-invalid answer is asked again: two calls).
    attempts: int = 0
    #: Tries repeated after a transient error (rate limit, timeout, 5xx, ...).
    retries: int = 0
    #: Each retry: the attempt that failed, its error code and the wait before the next.
    retry_log: list[dict[str, Any]] = Field(default_factory=list)
    #: Models given up on before the one that answered (or failed last), with their errors.
    fallbacks: list[dict[str, Any]] = Field(default_factory=list)
    status: NodeStatus = "succeeded"
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    error: dict[str, Any] | None = None
    #: USD for this node's tokens at the model's listed price; None when it is unknown.
    cost_usd: float | None = None
    #: Wall-clock start and end (epoch seconds), to see how nodes overlapped.
    started_at: float | None = None
    finished_at: float | None = None


class AgenticMetrics(BaseModel):
    """How the agentic run went: which agents ran, failed or were skipped, and how long
    the parallel phase waited on its slowest agent."""

    plan: Literal["multi_agent", "single_agent"]
    agents: list[str]
    failed_agents: list[str] = Field(default_factory=list)
    skipped_agents: list[str] = Field(default_factory=list)
    cross_check_rounds: int = 0
    #: From the first agent's start to the last agent's end.
    parallel_phase_ms: float = 0.0
    slowest_agent: str | None = None
    slowest_agent_ms: float = 0.0
    #: From the first agent's end to the last agent's end: time spent waiting on stragglers.
    waiting_on_slowest_ms: float = 0.0


class ResponseMetadata(BaseModel):
    run_id: str
    operation: str
    execution_mode: ExecutionMode
    execution_time_ms: int
    models_used: list[str] = Field(description="Resolved 'provider:model' ids, never aliases.")
    requested_model: str | None = None
    token_usage: TokenUsage = Field(default_factory=TokenUsage)
    cost_usd: float | None = Field(
        default=None,
        description="USD summed over every call of the run; null when a model's price is "
        "unknown (never 0 for an unknown price).",
    )
    nodes: list[NodeMetrics] = Field(default_factory=list)
    fallbacks: list[dict[str, Any]] = Field(
        default_factory=list,
        description="Every model skipped by a fallback: node, model and typed error.",
    )
    degraded: bool = Field(
        default=False, description="True when some agents failed and the result lacks their part."
    )
    agentic: AgenticMetrics | None = None

    @property
    def node_timings(self) -> dict[str, float]:
        return {node.node: node.duration_ms for node in self.nodes}


class LLMResponse(BaseModel):
    results: dict[str, Any]
    metadata: ResponseMetadata


class ModelDetails(BaseModel):
    """A resolved model: which provider serves it and under what name."""

    model_config = ConfigDict(frozen=True)

    provider: str
    model: str
    provider_type: ProviderType = "cloud"

    @property
    def model_id(self) -> str:
        return f"{self.provider}:{self.model}"
