"""Model providers. Each vendor is one module registered with ``@register_provider``.

Importing a module registers its provider; the vendor SDK is imported only on first
use. To add a provider, write ``<vendor>_provider.py`` and import it below.
"""

from __future__ import annotations

from .base import BaseProvider, ModelSettings, ProviderSettings
from .capabilities import ModelCapabilities, get_capabilities
from .gemini_provider import GeminiProvider
from .local_provider import LocalProvider
from .manager import ModelManager, ResolvedModel, parse_model_id
from .ollama_provider import OllamaProvider
from .openai_provider import OpenAIProvider
from .registry import AlreadyRegistered, provider_classes, register_provider, unregister_provider
from .structured import InvalidAnswerError, StructuredModel, parse_answer

__all__ = [
    "AlreadyRegistered",
    "BaseProvider",
    "GeminiProvider",
    "InvalidAnswerError",
    "LocalProvider",
    "ModelCapabilities",
    "ModelManager",
    "ModelSettings",
    "OllamaProvider",
    "OpenAIProvider",
    "ProviderSettings",
    "ResolvedModel",
    "StructuredModel",
    "get_capabilities",
    "parse_answer",
    "parse_model_id",
    "provider_classes",
    "register_provider",
    "unregister_provider",
]
