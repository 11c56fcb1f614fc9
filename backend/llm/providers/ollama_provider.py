"""Ollama: local models served by ``ollama serve`` at ``OLLAMA_BASE_URL``."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic_settings import SettingsConfigDict

from .. import exceptions as errors
from ._errors import ErrorClass, ErrorMap, from_status
from .base import BaseProvider, ModelSettings, ProviderSettings
from .registry import register_provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["OllamaProvider", "OllamaSettings"]


class OllamaSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="OLLAMA_")

    base_url: str = "http://localhost:11434"


def ollama_error_map() -> ErrorMap:
    import ollama

    return {
        ollama.ResponseError: from_status,
        ollama.RequestError: errors.ProviderError,
    }


@register_provider
class OllamaProvider(BaseProvider):
    provider_name = "ollama"
    provider_type = "local"
    settings_class = OllamaSettings
    hints: ClassVar[Mapping[ErrorClass, str]] = {
        errors.ModelUnavailableError: "Start Ollama ('ollama serve') at OLLAMA_BASE_URL and "
        "pull the model ('ollama pull <model>').",
    }

    def sdk_error_map(self) -> ErrorMap:
        return ollama_error_map()

    @contextlib.contextmanager
    def bounded_call(self, timeout_s: float | None) -> Iterator[dict[str, Any]]:
        if timeout_s is None:
            yield {}
            return
        from ._ollama_transport import CALL_DEADLINE

        token = CALL_DEADLINE.set(time.monotonic() + timeout_s)
        try:
            yield {}
        finally:
            CALL_DEADLINE.reset(token)

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        import httpx
        from langchain_ollama import ChatOllama

        from ._ollama_transport import DeadlineTransport

        return ChatOllama(
            model=model_name,
            base_url=cast("OllamaSettings", self.settings).base_url,
            num_predict=settings.max_tokens,
            temperature=settings.temperature,
            client_kwargs={"timeout": settings.timeout_s},
            sync_client_kwargs={"transport": self.sync_client(DeadlineTransport())},
            # Built for an event loop: its connections close with that loop.
            async_client_kwargs={"transport": self.loop_client(httpx.AsyncHTTPTransport)},
        )
