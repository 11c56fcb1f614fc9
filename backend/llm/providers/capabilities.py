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
    #: Cap string and list lengths in the schema sent to the model.
    bounded_output: bool = False
    #: Default cap on generated tokens; None uses the configured one. Small models get
    #: room for the whole bounded schema (their JSON is verbose), so it is never cut off.
    max_output_tokens: int | None = None


# (provider, model-name prefix) -> capabilities; "" matches any model of the provider.
_RULES: list[tuple[str, str, ModelCapabilities]] = [
    # Old models behind OPENAI_BASE_URL may not do json_schema; function calling is the
    # most widely implemented fallback.
    ("openai", "gpt-3.5", ModelCapabilities(structured_output="function_calling")),
    ("openai", "", ModelCapabilities(structured_output="json_schema")),
    ("gemini", "", ModelCapabilities()),
    ("ollama", "", ModelCapabilities(bounded_output=True, max_output_tokens=2048)),
    ("local", "", ModelCapabilities(bounded_output=True, max_output_tokens=1536)),
]


def get_capabilities(provider: str, model: str) -> ModelCapabilities:
    for rule_provider, prefix, capabilities in _RULES:
        if rule_provider == provider and model.startswith(prefix):
            return capabilities
    return ModelCapabilities()
