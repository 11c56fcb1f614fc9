"""The provider interface: a thin adapter from a vendor to a LangChain chat model."""

from __future__ import annotations

import asyncio
import contextlib
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar, cast

from pydantic import BaseModel, ConfigDict, SecretStr

from .. import exceptions as errors
from .._env import EnvSettings
from .._schema import model_schema
from ..types import ProviderType
from ._clients import ModelCache
from ._errors import ErrorClass, ErrorMap, translate
from .structured import StructuredModel

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

T = TypeVar("T")

__all__ = ["BaseProvider", "ModelSettings", "ProviderSettings", "StructuredBinding"]


class ProviderSettings(EnvSettings):
    """A provider's own settings. Subclass with ``model_config =
    SettingsConfigDict(env_prefix="VENDOR_")`` and fields: ``api_key: SecretStr | None``
    is read from ``VENDOR_API_KEY``, ``base_url`` from ``VENDOR_BASE_URL``, and so on.
    A field named ``api_key`` makes the provider need a key. Values come from code (or
    ``Config.providers``), then the environment, then ``.env``."""


class ModelSettings(BaseModel):
    """Per-call generation settings; part of the chat-model cache key (a bounded cache:
    ``providers._clients``)."""

    model_config = ConfigDict(frozen=True)

    max_tokens: int = 1024
    temperature: float = 0.2
    timeout_s: float = 120.0


#: What a structured model is built from: model name, settings, schema, structured-output
#: method, bounded output (``BaseProvider.structured_model``'s arguments, in order).
StructuredBinding = tuple[str, ModelSettings, type[BaseModel], str, bool]


class BaseProvider(ABC):
    """One vendor. Subclasses set the class attributes and build the chat model.

    The vendor SDK is imported inside methods, never at module import, so a missing
    optional SDK breaks only its own provider.
    """

    provider_name: ClassVar[str]
    provider_type: ClassVar[ProviderType] = "cloud"
    #: The settings this provider reads (its variables, defaults and secrets).
    settings_class: ClassVar[type[ProviderSettings]] = ProviderSettings
    #: Suggestions for errors of this provider, by our error class.
    hints: ClassVar[Mapping[ErrorClass, str]] = {}

    def __init__(self, settings: ProviderSettings | Mapping[str, Any] | None = None) -> None:
        """``settings``: an instance, or field overrides on top of the environment."""
        if not isinstance(settings, ProviderSettings):
            settings = self.settings_class.load(settings)
        self.settings = settings
        # Built models and the clients they opened, per event loop (async clients belong
        # to the loop that opened their connections) and for blocking use; bounded.
        self.models = ModelCache()

    # -- credentials -------------------------------------------------------------
    @property
    def api_key(self) -> str | None:
        key = getattr(self.settings, "api_key", None)
        if isinstance(key, SecretStr):
            return key.get_secret_value() or None
        return str(key) if key else None

    @property
    def api_key_env(self) -> str | None:
        """The variable holding the API key; None when the provider takes none."""
        if "api_key" not in self.settings_class.model_fields:
            return None
        return self.settings_class.env_names("api_key")[0]

    @property
    def requires_api_key(self) -> bool:
        return self.api_key_env is not None

    def is_configured(self) -> bool:
        return not self.requires_api_key or self.api_key is not None

    def check_configured(self, model_name: str) -> None:
        if not self.is_configured():
            raise errors.AuthenticationError(
                f"No API key for provider '{self.provider_name}': {self.api_key_env} is not set.",
                provider=self.provider_name,
                model=model_name,
                suggestion=f"Set {self.api_key_env} in the environment or .env, or use the "
                "keyless embedded model with model_id='local'.",
            )

    # -- models ------------------------------------------------------------------
    def canonical_model_name(self, model_name: str) -> str:
        """The name this provider reports for ``model_name`` (resolves 'default')."""
        return model_name

    def prepare(self) -> None:  # noqa: B027 - an optional hook
        """Blocking one-time set-up (e.g. starting a local server). Default: nothing."""

    def _cached(
        self,
        key: tuple[Any, ...],
        build: Callable[[], T],
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> T:
        if loop is None:
            with contextlib.suppress(RuntimeError):  # no running loop: the blocking cache
                loop = asyncio.get_running_loop()
        return self.models.get(key, build, loop)

    def sync_client(self, client: T) -> T:
        """For ``_create_chat_model``: ``client`` (anything with ``close()``) is closed
        once the model is no longer used, or when this provider is."""
        return self.models.opened(client)

    def close(self) -> None:
        """Close the blocking clients this provider opened (async ones close with their
        event loop)."""
        self.models.close()

    def loop_client(self, factory: Callable[[], T]) -> T | None:
        """For ``_create_chat_model``: an async HTTP client of the event loop the model is
        being built for (None when it is built for sync use), closed with that loop
        (``aclose_loop``) or once the model is no longer used. SDKs that share one client
        across loops reuse connections a closed loop opened ("Event loop is closed" on
        every second ``asyncio.run``)."""
        if self.models.building_for is None:
            return None
        return self.models.opened(factory(), is_async=True)

    async def aclose_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        """Close the clients opened for ``loop`` and forget its models."""
        await self.models.aclose_loop(loop)

    def chat_model(
        self,
        model_name: str,
        settings: ModelSettings,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> BaseChatModel:
        """A chat model for these settings, built once and reused (clients are costly).

        ``loop``: the event loop it will be used in, when built from a worker thread.
        """

        def build() -> BaseChatModel:
            try:
                return self._create_chat_model(model_name, settings)
            except errors.LLMOrchestratorError:
                raise
            except Exception as exc:
                raise self.translate_error(exc, model=model_name) from exc

        return self._cached(("chat", model_name, settings), build, loop)

    def structured_model(
        self,
        model_name: str,
        settings: ModelSettings,
        schema: type[BaseModel],
        *,
        method: str,
        bounded: bool,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> StructuredModel:
        """The chat model bound to answer in ``schema``, cached: building the binding and
        its JSON schema costs more than a fake model's answer."""
        return self._cached(
            _structured_key(model_name, settings, schema, method, bounded),
            lambda: StructuredModel.bind(
                self.chat_model(model_name, settings, loop),
                model_schema(schema, bounded=bounded),
                method,
            ),
            loop,
        )

    def cached_structured_model(
        self, binding: StructuredBinding, loop: asyncio.AbstractEventLoop
    ) -> StructuredModel | None:
        """``structured_model(*binding)`` if it is built already for ``loop``, else None:
        what an event loop may ask for itself, with nothing to build (nothing blocks)."""
        return cast("StructuredModel | None", self.models.peek(_structured_key(*binding), loop))

    @property
    def prepared(self) -> bool:
        """Whether ``prepare`` has nothing left to do (so calling it cannot block)."""
        return True

    @contextlib.contextmanager
    def bounded_call(self, timeout_s: float | None) -> Iterator[dict[str, Any]]:
        """Around one blocking call: the keyword arguments that end it after ``timeout_s``
        seconds (the time left before the run's deadline; None: no deadline). LangChain's
        OpenAI and Gemini models take ``timeout`` per call; a vendor whose model does not
        overrides this (async calls need none: the event loop cancels them)."""
        yield {} if timeout_s is None else {"timeout": max(timeout_s, 0.001)}

    @abstractmethod
    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        """Build the LangChain chat model. Import the SDK here, not at module level."""

    # -- errors ------------------------------------------------------------------
    def sdk_error_map(self) -> ErrorMap:
        """This vendor's exception classes mapped to ours (imported lazily)."""
        return {}

    def sdk_error_overrides(self) -> ErrorMap:
        """Entries consulted before LangChain's standard classes (functions may return
        None to leave the exception to them)."""
        return {}

    def truncation_errors(self) -> tuple[type[BaseException], ...]:
        """SDK exceptions meaning "the answer hit the token limit" (imported lazily)."""
        return ()

    def is_truncation(self, exc: BaseException) -> bool:
        return isinstance(exc, self.truncation_errors())

    def translate_error(self, exc: BaseException, **context: Any) -> errors.LLMOrchestratorError:
        return translate(
            exc,
            self.sdk_error_map(),
            secrets=[self.api_key or ""],
            hints=self.hints,
            overrides=self.sdk_error_overrides(),
            provider=self.provider_name,
            **context,
        )


def _structured_key(*binding: Any) -> tuple[Any, ...]:
    return ("structured", *binding)
