"""``ModelManager``: from what a caller wrote (alias, ``provider:model``, bare id) to a model."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .. import exceptions as errors
from .._opaque import Opaque
from ..config import Config, get_config
from ..limits import ProviderLimits, limits_for
from ..pricing import PriceTable
from ..types import ModelDetails
from .base import BaseProvider, ModelSettings
from .capabilities import ModelCapabilities, get_capabilities
from .registry import provider_classes

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["ModelManager", "ResolvedModel", "parse_model_id"]

# Bare ids whose vendor is unambiguous from the name.
_BARE_ID_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("chatgpt-", "openai"),
    ("gemini-", "gemini"),
)


def parse_model_id(
    model_id: str, *, aliases: Mapping[str, str], providers: Collection[str]
) -> tuple[str, str]:
    """``(provider, model)`` for an alias, a ``provider:model`` id or a bare model id.

    This is the only place a model id is taken apart. A missing model name after the
    provider (``"local"`` or ``"local:"``) means the provider's default model.
    """
    text = model_id.strip()
    text = aliases.get(text, text)
    provider, separator, model = text.partition(":")
    if provider in providers:
        return provider, (model.strip() if separator else "") or "default"
    for prefix, vendor in _BARE_ID_PREFIXES:
        if text.startswith(prefix) and vendor in providers:
            return vendor, text
    raise errors.InvalidRequestError(
        f"Unknown model or alias {model_id!r}.",
        model=model_id,
        known_aliases=sorted(aliases),
        known_providers=sorted(providers),
        suggestion="Use an alias (" + ", ".join(sorted(aliases)) + ") or write "
        "'provider:model', e.g. 'ollama:llama3.2' or 'openai:gpt-4o-mini'.",
    )


@dataclass(frozen=True)
class ResolvedModel:
    """A model ready to call: who serves it, what it can do, and how to build its client."""

    details: ModelDetails
    provider: BaseProvider
    capabilities: ModelCapabilities
    requested: str
    #: The provider's client-side limits (None: unlimited).
    limits: ProviderLimits | None = None

    @property
    def model_id(self) -> str:
        return self.details.model_id

    def chat_model(self, settings: ModelSettings) -> BaseChatModel:
        return self.provider.chat_model(self.details.model, settings)

    def translate_error(self, exc: BaseException) -> errors.LLMOrchestratorError:
        return self.provider.translate_error(exc, model=self.model_id)


class ModelManager(Opaque):
    """Providers built lazily from the registry and the config; ``providers`` overrides
    (an instance per name) let tests and embedders plug in their own."""

    def __init__(
        self,
        config: Config | None = None,
        providers: Mapping[str, BaseProvider] | None = None,
        *,
        wrap: Callable[[BaseProvider], BaseProvider] | None = None,
    ) -> None:
        """``wrap`` stands in front of every provider built (e.g. to record or replay
        its calls: ``backend.llm.recording``)."""
        self.config = config or get_config()
        self.prices = PriceTable(self.config.prices)
        self._wrap = wrap
        self._providers: dict[str, BaseProvider] = {
            name: wrap(provider) if wrap else provider
            for name, provider in (providers or {}).items()
        }
        self._lock = threading.Lock()

    @property
    def provider_names(self) -> list[str]:
        return sorted({*provider_classes(), *self._providers})

    def provider(self, name: str) -> BaseProvider:
        with self._lock:
            if name not in self._providers:
                classes = provider_classes()
                if name not in classes:
                    raise errors.InvalidRequestError(
                        f"Unknown provider {name!r}.",
                        known_providers=self.provider_names,
                    )
                provider = classes[name](self.config.providers.get(name))
                self._providers[name] = self._wrap(provider) if self._wrap else provider
            return self._providers[name]

    def build_providers(self) -> None:
        """Build every registered provider now (each reads its settings), rather than on
        a model's first use, which may be on an event loop."""
        for name in self.provider_names:
            self.provider(name)

    def ready(self, model_id: str | None = None) -> bool:
        """Whether resolving ``model_id`` and its provider's one-time set-up are done
        (its provider built, ``prepare`` run): then neither blocks, and an event loop may
        resolve the model itself rather than in a thread."""
        try:
            _, provider_name, _ = self._parse(model_id)
        except errors.LLMOrchestratorError:
            return False
        with self._lock:
            provider = self._providers.get(provider_name)
        return provider is not None and provider.prepared

    def resolve(self, model_id: str | None = None) -> ResolvedModel:
        """Resolve ``model_id`` (None: the configured default), checking credentials."""
        requested, provider_name, model_name = self._parse(model_id)
        provider = self.provider(provider_name)
        provider.check_configured(model_name)
        model_name = provider.canonical_model_name(model_name)
        return ResolvedModel(
            details=ModelDetails(
                provider=provider_name, model=model_name, provider_type=provider.provider_type
            ),
            provider=provider,
            capabilities=get_capabilities(provider_name, model_name),
            requested=requested,
            limits=limits_for(provider_name, self.config.rate_limits.get(provider_name)),
        )

    def _parse(self, model_id: str | None) -> tuple[str, str, str]:
        """(what was asked, or the default model; its provider; its model name)."""
        requested = model_id if model_id and model_id.strip() else self.config.default_model
        provider_name, model_name = parse_model_id(
            requested, aliases=self.config.model_aliases, providers=self.provider_names
        )
        return requested, provider_name, model_name

    async def aclose_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close every provider's clients of ``loop`` (when the loop shuts down)."""
        with self._lock:
            providers = list(self._providers.values())
        for provider in providers:
            await provider.aclose_loop(loop)

    def describe(self) -> dict[str, Any]:
        """Aliases and provider status, for ``manage.py llm models`` and the API."""
        providers = {}
        for name in self.provider_names:
            provider = self.provider(name)
            providers[name] = {
                "type": provider.provider_type,
                "configured": provider.is_configured(),
                "api_key_env": provider.api_key_env if provider.requires_api_key else None,
            }
        return {
            "default_model": self.config.default_model,
            "aliases": dict(sorted(self.config.model_aliases.items())),
            "providers": providers,
        }
