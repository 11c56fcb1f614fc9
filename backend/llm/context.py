"""The run context every graph receives: model and limits chosen per run, never globals."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from .config import get_config
from .handler_registry import HandlerRegistry, registry
from .providers import ModelCapabilities, ModelManager, ModelSettings
from .retry import RetryPolicy
from .types import MAX_RUN_TIMEOUT_MS

__all__ = ["DEFAULT_TEMPERATURE", "RunContext", "default_model_manager"]

#: Sampling temperature of a run that names none.
DEFAULT_TEMPERATURE = 0.2


@lru_cache(maxsize=1)
def default_model_manager() -> ModelManager:
    """The manager used when a run names none (e.g. runs started from LangGraph Studio)."""
    return ModelManager(get_config())


@dataclass(frozen=True)
class RunContext:
    """Per-run choices. Everything but ``models`` can be typed in LangGraph Studio."""

    model_id: Annotated[
        str | None,
        Field(description="Alias (local, openai, gemini, ollama), 'provider:model' or None."),
    ] = None
    timeout_ms: Annotated[int | None, Field(description="Deadline of the run in ms.")] = None
    temperature: Annotated[float | None, Field(description="Sampling temperature.")] = None
    max_output_tokens: Annotated[int | None, Field(description="Cap on generated tokens.")] = None
    output_retries: Annotated[
        int | None, Field(description="Extra attempts after schema-invalid output.")
    ] = None
    agent_models: Annotated[
        dict[str, str] | None,
        Field(description="Agentic mode: a model per agent, e.g. {'contradictions': 'openai'}."),
    ] = None
    cross_check_rounds: Annotated[
        int | None, Field(description="Agentic mode: reconciliation rounds (0 = plain merge).")
    ] = None
    strict: Annotated[bool, Field(description="Agentic mode: fail if any agent fails.")] = False
    max_attempts: Annotated[
        int | None, Field(description="Tries of a call that fails transiently (1 = no retry).")
    ] = None
    fallback_models: Annotated[
        list[str] | None,
        Field(description="Models to try in order when the model fails after its retries."),
    ] = None
    #: The run's absolute deadline (``time.monotonic()``); set by the orchestrator.
    deadline: SkipJsonSchema[float | None] = field(default=None, repr=False, compare=False)
    #: Called at every safe point of the run (before each try of a model, during waits
    #: for a retry or a provider's turn); raises to stop the run there (it was cancelled,
    #: or its process is stopping). Set by whoever runs it (``backend.llm.runs``).
    interrupt: SkipJsonSchema[Callable[[], None] | None] = field(
        default=None, repr=False, compare=False
    )
    # The orchestrator's collaborators, hidden from Studio; a run started from Studio
    # (where nobody sets them) uses the process-wide ones.
    models: SkipJsonSchema[ModelManager | None] = field(default=None, repr=False, compare=False)
    handlers: SkipJsonSchema[HandlerRegistry | None] = field(
        default=None, repr=False, compare=False
    )

    @property
    def manager(self) -> ModelManager:
        return self.models or default_model_manager()

    @property
    def operations(self) -> HandlerRegistry:
        return self.handlers or registry

    def model_settings(self, capabilities: ModelCapabilities | None = None) -> ModelSettings:
        config = self.manager.config
        model_cap = capabilities.max_output_tokens if capabilities else None
        return ModelSettings(
            max_tokens=self.max_output_tokens or model_cap or config.max_output_tokens,
            temperature=DEFAULT_TEMPERATURE if self.temperature is None else self.temperature,
            # Not the run's own deadline: that is enforced per call (``bounded_call``, and
            # the event loop's cancellation), so clients are shared by runs with any
            # timeout_ms, and a client choosing a new timeout per request cannot make the
            # provider build (and keep) a new client each time.
            timeout_s=max(MAX_RUN_TIMEOUT_MS, config.default_timeout_ms) / 1000,
        )

    def run_deadline(self) -> float:
        """The absolute deadline of the run (a Studio run starts its clock at its first
        node)."""
        if self.deadline is not None:
            return self.deadline
        timeout_ms = self.timeout_ms or self.manager.config.default_timeout_ms
        return time.monotonic() + timeout_ms / 1000

    @functools.cached_property
    def retry_policy(self) -> RetryPolicy:
        config = self.manager.config
        return RetryPolicy(
            max_attempts=self.max_attempts or config.max_attempts,
            initial_backoff_s=config.retry_initial_backoff_s,
            max_backoff_s=config.retry_max_backoff_s,
            fallback_on_auth=config.fallback_on_auth,
        )

    def model_chain(self, model_id: str | None = None) -> list[str | None]:
        """The model to call (``model_id``, else the run's), then its fallbacks: the
        run's ``fallback_models``, else the config's chain for what was asked (alias or
        id), else for the id it resolves to."""
        primary = model_id or self.model_id or self.manager.config.default_model
        chain = self.fallback_models
        configured = self.manager.config.fallbacks
        if chain is None and not configured:
            return [primary]  # the common case: no resolution needed
        if chain is None:
            chain = configured.get(primary)
            if chain is None:
                chain = configured.get(self.manager.resolve(primary).model_id, [])
        return [primary, *(model for model in chain if model != primary)]

    @property
    def retries(self) -> int:
        return (
            self.manager.config.output_retries
            if self.output_retries is None
            else self.output_retries
        )

    def agent_model(self, agent: str) -> str | None:
        """The model for ``agent``: the run's per-agent choice, the config's, or the run's."""
        chosen = {**self.manager.config.agent_models, **(self.agent_models or {})}
        return chosen.get(agent) or self.model_id

    def ready(self) -> bool:
        """Whether setting up this run's nodes can no longer block: its manager and the
        models it names (the run's, per-agent ones, fallbacks) are built and prepared
        (``ModelManager.ready``). Until then, an event loop sets nodes up in a thread."""
        if self.models is None and default_model_manager.cache_info().currsize == 0:
            return False  # the process-wide manager reads the configuration first
        manager = self.manager
        named = {*manager.config.agent_models.values(), *(self.agent_models or {}).values()}
        return all(
            manager.ready(model) for model in {self.model_id, *named, *(self.fallback_models or [])}
        )

    @property
    def rounds(self) -> int:
        if self.cross_check_rounds is None:
            return self.manager.config.cross_check_rounds
        return self.cross_check_rounds
