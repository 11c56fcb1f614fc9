"""The orchestrator's own settings (``LLM_ORCHESTRATOR_*``); providers declare theirs.

Precedence, highest first: Django's ``settings.LLM_ORCHESTRATOR`` dict, the process
environment, the ``.env`` file (see ``_env``), defaults. The Django dict's keys are the
variable names without the ``LLM_ORCHESTRATOR_`` prefix (``{"DEFAULT_MODEL": "openai"}``)
or any provider's variable (``{"OPENAI_API_KEY": ...}``); ``PROVIDERS`` sets provider
fields directly (``{"PROVIDERS": {"ollama": {"base_url": ...}}}``). Tests change it with
``override_settings``; the cached config is dropped when that setting changes.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from ._env import ConfigurationError, EnvSettings
from .limits import RateLimit
from .pricing import Price
from .types import ExecutionMode

__all__ = ["DEFAULT_MODEL_ALIASES", "Config", "get_config", "reset_config"]

# Defaults point at models the vendors still serve (gemini-2.0-flash-exp is shut down).
DEFAULT_MODEL_ALIASES: dict[str, str] = {
    "local": "local:default",
    "gemini": "gemini:gemini-2.5-flash",
    "openai": "openai:gpt-4o-mini",
    "ollama": "ollama:llama3.2",
}
_PREFIX = "LLM_ORCHESTRATOR_"


class Config(EnvSettings):
    """Everything the orchestrator itself reads from the outside world."""

    model_config = SettingsConfigDict(env_prefix=_PREFIX)

    default_model: str = "local"
    default_execution_mode: ExecutionMode = "monolithic"
    default_timeout_ms: int = Field(default=120_000, gt=0)
    #: Merged into (not replacing) the default aliases.
    model_aliases: dict[str, str] = Field(default_factory=lambda: dict(DEFAULT_MODEL_ALIASES))

    agent_models: dict[str, str] = Field(default_factory=dict)
    cross_check_rounds: int = Field(default=1, ge=0, le=3)

    #: Tries of a model call that fails with a transient error (1 = no retry).
    max_attempts: int = Field(default=3, ge=1, le=10)
    retry_initial_backoff_s: float = Field(default=0.5, ge=0)
    retry_max_backoff_s: float = Field(default=8.0, ge=0)
    #: Model or alias -> the models to try, in order, when it fails after its retries.
    fallbacks: dict[str, list[str]] = Field(default_factory=dict)
    #: Also fall through on a provider's authentication or permission error.
    fallback_on_auth: bool = False

    max_output_tokens: int = Field(default=1024, ge=16)
    output_retries: int = Field(default=1, ge=0, le=5)
    max_input_chars: int = Field(default=20_000, ge=100)
    #: Dotted path of the ``GraphFactory`` the orchestrator runs requests through.
    graph_factory: str = "graphs.compiled_graph"
    #: Provider name -> requests per second and calls in flight, shared by the process.
    rate_limits: dict[str, RateLimit] = Field(default_factory=dict)
    #: ``provider:model`` (prefix) -> price, on top of the dated defaults in ``pricing``.
    prices: dict[str, Price] = Field(default_factory=dict)
    #: Provider name -> field overrides of its settings (which win over its variables).
    providers: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @field_validator("model_aliases")
    @classmethod
    def _keep_default_aliases(cls, aliases: dict[str, str]) -> dict[str, str]:
        return {**DEFAULT_MODEL_ALIASES, **aliases}


def _django_overrides() -> dict[str, Any]:
    """``settings.LLM_ORCHESTRATOR`` sorted into Config fields and provider fields."""
    from django.conf import settings

    from .providers.registry import provider_classes

    if not settings.configured:
        return {}
    raw: dict[str, Any] = dict(getattr(settings, "LLM_ORCHESTRATOR", {}) or {})
    values: dict[str, Any] = {}
    providers: dict[str, dict[str, Any]] = {
        name: dict(fields) for name, fields in (raw.pop("PROVIDERS", None) or {}).items()
    }
    for key, value in raw.items():
        name = str(key).upper()
        if name.lower() in Config.model_fields:
            values[name.lower()] = value
            continue
        for provider, cls in provider_classes().items():
            field = cls.settings_class.field_for(name) or cls.settings_class.field_for(
                _PREFIX + name
            )
            if field:
                providers.setdefault(provider, {})[field] = value
                break
        else:
            raise ConfigurationError(
                f"LLM_ORCHESTRATOR[{key!r}] is neither an orchestrator setting nor a "
                "provider's variable.",
                setting=f"LLM_ORCHESTRATOR[{key!r}]",
            )
    if providers:
        values["providers"] = providers
    return values


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process's configuration (cached; ``reset_config()`` drops the cache).

    Raises ``ConfigurationError`` naming the variable when a setting is unusable.
    """
    return Config.load(_django_overrides())


def reset_config() -> None:
    get_config.cache_clear()
