"""The run context every graph receives: model and limits chosen per run, never globals."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from typing import Annotated

from pydantic import Field
from pydantic.json_schema import SkipJsonSchema

from .config import get_config
from .providers import ModelManager, ModelSettings

__all__ = ["RunContext", "default_model_manager"]


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
    #: Set by the orchestrator (its own ModelManager); hidden from Studio.
    models: SkipJsonSchema[ModelManager | None] = field(default=None, repr=False, compare=False)

    @property
    def manager(self) -> ModelManager:
        return self.models or default_model_manager()

    def model_settings(self) -> ModelSettings:
        config = self.manager.config
        timeout_ms = self.timeout_ms or config.default_timeout_ms
        return ModelSettings(
            max_tokens=self.max_output_tokens or config.max_output_tokens,
            temperature=0.2 if self.temperature is None else self.temperature,
            timeout_s=timeout_ms / 1000,
        )

    @property
    def retries(self) -> int:
        return (
            self.manager.config.output_retries
            if self.output_retries is None
            else self.output_retries
        )
