"""OpenAI, and any OpenAI-compatible server behind ``OPENAI_BASE_URL`` (vLLM, llama.cpp, ...)."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING, ClassVar

from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict

from .. import exceptions as errors
from ._errors import ErrorClass, ErrorMap, from_status
from .base import BaseProvider, ModelSettings, ProviderSettings
from .registry import register_provider

if TYPE_CHECKING:
    import ssl

    from langchain_core.language_models import BaseChatModel

__all__ = ["OpenAIProvider", "OpenAISettings"]


class OpenAISettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="OPENAI_")

    #: ``OPENAI_API_KEY``; not needed for a server of your own at ``base_url``.
    api_key: SecretStr | None = None
    #: ``OPENAI_BASE_URL``: any OpenAI-compatible server (vLLM, LM Studio, llama.cpp).
    base_url: str | None = None


def _bad_request(exc: BaseException) -> ErrorClass:
    # OpenAI says "context_length_exceeded"; llama.cpp "exceeds the available context size".
    text = str(exc).lower()
    if "context_length" in text or "context size" in text or "context window" in text:
        return errors.InsufficientResourcesError
    return errors.ProviderError


def openai_error_map() -> ErrorMap:
    """Every exception class the ``openai`` SDK exports, mapped (a test enforces this)."""
    import openai

    return {
        openai.APITimeoutError: errors.TimeoutError,
        openai.APIConnectionError: errors.ModelUnavailableError,
        openai.AuthenticationError: errors.AuthenticationError,
        openai.PermissionDeniedError: errors.PermissionDeniedError,
        openai.NotFoundError: errors.ModelUnavailableError,
        openai.RateLimitError: errors.RateLimitError,
        openai.BadRequestError: _bad_request,
        openai.ConflictError: errors.ProviderError,
        openai.UnprocessableEntityError: errors.ProviderError,
        openai.InternalServerError: from_status,  # 503 is unavailability
        openai.APIStatusError: from_status,
        openai.APIResponseValidationError: errors.ProviderError,
        openai.LengthFinishReasonError: errors.InsufficientResourcesError,
        openai.ContentFilterFinishReasonError: errors.ProviderError,
        openai.InvalidWebhookSignatureError: errors.AuthenticationError,
        openai.OAuthError: errors.AuthenticationError,
        openai.WebSocketConnectionClosedError: errors.ModelUnavailableError,
        openai.WebSocketQueueFullError: errors.InsufficientResourcesError,
        openai.APIError: errors.ProviderError,
        openai.OpenAIError: errors.ProviderError,
    }


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: each event loop gets its own
    client, and a context per client costs ~30 ms (the CA bundle is parsed again) and
    memory the allocator does not give back. Contexts are safe to share."""
    import httpx2  # the openai SDK's HTTP client

    return httpx2.create_ssl_context()


@register_provider
class OpenAIProvider(BaseProvider):
    provider_name = "openai"
    settings_class: ClassVar[type[ProviderSettings]] = OpenAISettings
    hints: ClassVar[Mapping[ErrorClass, str]] = {
        errors.AuthenticationError: "Check OPENAI_API_KEY, or use model_id='local'.",
        errors.ModelUnavailableError: "Check the model name and OPENAI_BASE_URL.",
        errors.RateLimitError: "Wait and retry, or check your OpenAI quota.",
    }

    @property
    def base_url(self) -> str | None:
        return getattr(self.settings, "base_url", None) or None

    @property
    def requires_api_key(self) -> bool:
        # An OpenAI-compatible server on your own machine usually needs no key.
        return self.base_url is None

    def sdk_error_map(self) -> ErrorMap:
        return openai_error_map()

    def truncation_errors(self) -> tuple[type[BaseException], ...]:
        import openai

        return (openai.LengthFinishReasonError,)

    def endpoint(self) -> tuple[str | None, str]:
        """Base URL (None: OpenAI's) and API key of the server to talk to."""
        return self.base_url, self.api_key or "not-needed"

    @property
    def sampling_seed(self) -> int | None:
        return None

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        import openai
        from langchain_openai import ChatOpenAI

        base_url, api_key = self.endpoint()
        async_client = self.loop_client(
            lambda: openai.DefaultAsyncHttpxClient(
                timeout=settings.timeout_s, verify=_ssl_context()
            )
        )
        return ChatOpenAI(
            http_async_client=async_client,
            model=model_name,
            api_key=SecretStr(api_key),
            base_url=base_url,
            max_completion_tokens=settings.max_tokens,
            temperature=settings.temperature,
            timeout=settings.timeout_s,
            max_retries=0,  # retries are ours (backend/llm/retry.py), visible in metadata
            seed=self.sampling_seed,
        )
