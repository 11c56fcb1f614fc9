"""What a model call costs: a dated price table per model, extendable by configuration.

Prices are USD per million tokens (input, output), with the date they were taken from
the vendor's public price list. A model is matched by the longest ``provider:model``
prefix (``openai:gpt-4o-mini`` also prices ``openai:gpt-4o-mini-2024-07-18``). A model
with no price has cost ``None``, never 0: an unknown price must not read as free.
Models that run on your own hardware (the embedded model, Ollama) cost 0 USD per token.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping

from pydantic import BaseModel, ConfigDict, Field

from .types import TokenUsage

__all__ = ["DEFAULT_PRICES", "Price", "PriceTable"]


class Price(BaseModel):
    model_config = ConfigDict(frozen=True)

    input_per_mtok: float = Field(ge=0)
    output_per_mtok: float = Field(ge=0)
    #: When the price was read from the vendor's price list.
    checked: datetime.date

    def cost(self, usage: TokenUsage) -> float:
        return (
            usage.input_tokens * self.input_per_mtok + usage.output_tokens * self.output_per_mtok
        ) / 1_000_000


_LISTED = datetime.date(2025, 8, 1)  # the vendors' list prices as last read by the authors
_OWN_HARDWARE = datetime.date(2026, 11, 29)

DEFAULT_PRICES: dict[str, Price] = {
    "openai:gpt-4o-mini": Price(input_per_mtok=0.15, output_per_mtok=0.60, checked=_LISTED),
    "openai:gpt-4o": Price(input_per_mtok=2.50, output_per_mtok=10.00, checked=_LISTED),
    "openai:gpt-4.1-nano": Price(input_per_mtok=0.10, output_per_mtok=0.40, checked=_LISTED),
    "openai:gpt-4.1-mini": Price(input_per_mtok=0.40, output_per_mtok=1.60, checked=_LISTED),
    "openai:gpt-4.1": Price(input_per_mtok=2.00, output_per_mtok=8.00, checked=_LISTED),
    "openai:gpt-5-nano": Price(input_per_mtok=0.05, output_per_mtok=0.40, checked=_LISTED),
    "openai:gpt-5-mini": Price(input_per_mtok=0.25, output_per_mtok=2.00, checked=_LISTED),
    "openai:gpt-5": Price(input_per_mtok=1.25, output_per_mtok=10.00, checked=_LISTED),
    "gemini:gemini-2.5-flash-lite": Price(
        input_per_mtok=0.10, output_per_mtok=0.40, checked=_LISTED
    ),
    "gemini:gemini-2.5-flash": Price(input_per_mtok=0.30, output_per_mtok=2.50, checked=_LISTED),
    "gemini:gemini-2.5-pro": Price(input_per_mtok=1.25, output_per_mtok=10.00, checked=_LISTED),
    "local:": Price(input_per_mtok=0, output_per_mtok=0, checked=_OWN_HARDWARE),
    "ollama:": Price(input_per_mtok=0, output_per_mtok=0, checked=_OWN_HARDWARE),
}


class PriceTable:
    """The default prices, with configured ones (``LLM_ORCHESTRATOR_PRICES``) on top."""

    def __init__(self, extra: Mapping[str, Price] | None = None) -> None:
        self._prices = {**DEFAULT_PRICES, **(extra or {})}
        self._prefixes = sorted(self._prices, key=len, reverse=True)
        self._found: dict[str, Price | None] = {}

    def price(self, model_id: str) -> Price | None:
        if model_id not in self._found:  # looked up on every call: remembered
            self._found[model_id] = next(
                (self._prices[p] for p in self._prefixes if model_id.startswith(p)), None
            )
        return self._found[model_id]

    def cost(self, model_id: str | None, usage: TokenUsage) -> float | None:
        price = self.price(model_id) if model_id else None
        return None if price is None else round(price.cost(usage), 8)
