"""Google Gemini through langchain-google-genai."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, cast

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import SettingsConfigDict

from .. import exceptions as errors
from ._errors import ErrorClass, ErrorMap, from_status
from .base import BaseProvider, ModelSettings, ProviderSettings
from .registry import register_provider

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["GeminiProvider", "GeminiSettings"]


class GeminiSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="GEMINI_")

    api_key: SecretStr | None = Field(
        default=None, validation_alias=AliasChoices("GEMINI_API_KEY", "GOOGLE_API_KEY")
    )
    #: ``GEMINI_BASE_URL``: a gateway or proxy in front of the Gemini API.
    base_url: str | None = None


def gemini_error_map() -> ErrorMap:
    """The google-genai SDK's exceptions and langchain-google-genai's wrappers."""
    from google.genai import errors as genai
    from langchain_google_genai import chat_models as lc_google

    return {
        genai.ClientError: from_status,
        genai.ServerError: from_status,
        genai.UnknownApiResponseError: errors.ProviderError,
        genai.UnknownFunctionCallArgumentError: errors.ProviderError,
        genai.UnsupportedFunctionError: errors.ProviderError,
        genai.FunctionInvocationError: errors.ProviderError,
        genai.ContinuationInterruptedError: errors.ProviderError,
        genai.APIError: from_status,
        lc_google.ChatGoogleGenerativeAIError: errors.ProviderError,
    }


def _rejected_key(exc: BaseException) -> ErrorClass | None:
    # Gemini answers a bad key with 400 INVALID_ARGUMENT, reason API_KEY_INVALID.
    return errors.AuthenticationError if "API_KEY_INVALID" in str(exc) else None


class _AsyncTransports:
    """The async side of a google-genai client, closed in the loop that used it."""

    def __init__(self, client: Any) -> None:
        self.client = client

    async def aclose(self) -> None:
        await self.client.aio.aclose()


@register_provider
class GeminiProvider(BaseProvider):
    provider_name = "gemini"
    settings_class = GeminiSettings
    hints: ClassVar[Mapping[ErrorClass, str]] = {
        errors.AuthenticationError: "Check GEMINI_API_KEY, or use model_id='local'.",
        errors.ModelUnavailableError: "Check the model name (e.g. gemini-2.5-flash).",
        errors.RateLimitError: "Wait and retry, or check your Gemini quota.",
    }

    def sdk_error_map(self) -> ErrorMap:
        return gemini_error_map()

    def sdk_error_overrides(self) -> ErrorMap:
        from langchain_google_genai import chat_models as lc_google

        return {lc_google.GoogleInvalidRequestError: _rejected_key}

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        from langchain_google_genai import ChatGoogleGenerativeAI

        model = ChatGoogleGenerativeAI(
            model=model_name,
            base_url=cast("GeminiSettings", self.settings).base_url,
            google_api_key=SecretStr(self.api_key or ""),
            max_output_tokens=settings.max_tokens,
            temperature=settings.temperature,
            timeout=settings.timeout_s,
            max_retries=0,  # retries are ours (backend/llm/retry.py), visible in metadata
        )
        # The SDK opens its own async transports; LangChain closes them only if the model
        # is collected while their loop still runs. Built for a loop: closed with it.
        self.loop_client(lambda: _AsyncTransports(model.client))
        return model
