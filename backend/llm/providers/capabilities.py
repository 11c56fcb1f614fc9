"""What each model can do: how to ask it for structured output, and how much it reads.

Rules are matched by provider and model-name prefix, most specific first; unknown
models get their provider's default. Small local models get ``bounded_output`` so that
string and list lengths are capped in the schema sent to them (they ramble otherwise).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

__all__ = ["ModelCapabilities", "StructuredOutputMethod", "get_capabilities"]

StructuredOutputMethod = Literal["json_schema", "function_calling", "json_mode"]


class ModelCapabilities(BaseModel):
    model_config = ConfigDict(frozen=True)

    structured_output: StructuredOutputMethod = "json_schema"
    context_window: int = 8192
    #: Cap string and list lengths in the schema sent to the model.
    bounded_output: bool = False
    #: Default cap on generated tokens; None uses the configured one. Small models get
    #: room for the whole bounded schema (their JSON is verbose), so it is never cut off.
    max_output_tokens: int | None = None
    #: Reference price per million tokens (input, output) in USD, for cost reports.
    price_per_mtok: tuple[float, float] = (0.0, 0.0)


# (provider, model-name prefix) -> capabilities; "" matches any model of the provider.
_RULES: list[tuple[str, str, ModelCapabilities]] = [
    (
        "openai",
        "gpt-4o-mini",
        ModelCapabilities(context_window=128_000, price_per_mtok=(0.15, 0.6)),
    ),
    ("openai", "gpt-4o", ModelCapabilities(context_window=128_000, price_per_mtok=(2.5, 10.0))),
    ("openai", "gpt-4.1", ModelCapabilities(context_window=1_000_000, price_per_mtok=(2.0, 8.0))),
    ("openai", "gpt-5", ModelCapabilities(context_window=400_000, price_per_mtok=(1.25, 10.0))),
    ("openai", "o1", ModelCapabilities(context_window=200_000)),
    ("openai", "o3", ModelCapabilities(context_window=200_000)),
    ("openai", "o4", ModelCapabilities(context_window=200_000)),
    # Any other name behind OPENAI_BASE_URL (vLLM, LM Studio, llama.cpp) may not do
    # json_schema; function calling is the most widely implemented fallback.
    (
        "openai",
        "gpt-3.5",
        ModelCapabilities(structured_output="function_calling", context_window=16_385),
    ),
    ("openai", "", ModelCapabilities(structured_output="json_schema", context_window=32_768)),
    (
        "gemini",
        "gemini-2.5-flash",
        ModelCapabilities(context_window=1_048_576, price_per_mtok=(0.3, 2.5)),
    ),
    (
        "gemini",
        "gemini-2.5-pro",
        ModelCapabilities(context_window=1_048_576, price_per_mtok=(1.25, 10.0)),
    ),
    ("gemini", "", ModelCapabilities(context_window=1_048_576)),
    (
        "ollama",
        "",
        ModelCapabilities(context_window=8192, bounded_output=True, max_output_tokens=2048),
    ),
    (
        "local",
        "",
        ModelCapabilities(context_window=2048, bounded_output=True, max_output_tokens=1536),
    ),
]


def get_capabilities(provider: str, model: str) -> ModelCapabilities:
    for rule_provider, prefix, capabilities in _RULES:
        if rule_provider == provider and model.startswith(prefix):
            return capabilities
    return ModelCapabilities()
