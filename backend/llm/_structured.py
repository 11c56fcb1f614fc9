"""One structured LLM call: schema-valid output or a typed error, retrying invalid output.

This is the mechanism every graph node uses (the monolithic generator and each agent),
so retry, token accounting and error translation live in exactly one place.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import pydantic
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from . import exceptions as errors
from .limits import aslot, slot
from .providers.structured import InvalidAnswerError, StructuredModel, blocked_reason
from .types import TokenUsage, pydantic_errors

if TYPE_CHECKING:
    from .providers import ModelSettings, ResolvedModel
    from .providers.base import StructuredBinding

__all__ = [
    "StructuredResult",
    "ainvoke_structured",
    "cached_structured_model",
    "invoke_structured",
    "structured_model",
]

T = TypeVar("T", bound=pydantic.BaseModel)


@dataclass(frozen=True)
class StructuredResult(Generic[T]):
    value: T
    usage: TokenUsage
    attempts: int


class _Conversation(Generic[T]):
    """The state of one call across attempts; shared by the sync and async loops."""

    def __init__(
        self,
        model: ResolvedModel,
        messages: Sequence[BaseMessage],
        schema: type[T],
        settings: ModelSettings,
        retries: int,
        deadline: float | None,
        structured: StructuredModel | None,
        interrupt: Callable[[], None] | None = None,
    ) -> None:
        self.model = model
        self.messages = list(messages)
        self.schema = schema
        self.max_attempts = retries + 1
        self.deadline = deadline
        self.interrupt = interrupt
        self.usage = TokenUsage()
        self.attempts = 0
        self.last_errors: list[dict[str, Any]] = []
        self.structured = structured or structured_model(model, schema, settings)

    def next_attempt(self) -> bool:
        if self.interrupt is not None:
            self.interrupt()
        if self.attempts >= self.max_attempts:
            return False
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise errors.TimeoutError(
                f"The deadline passed after {self.attempts} attempt(s).",
                model=self.model.model_id,
                attempts=self.attempts,
            )
        self.attempts += 1
        return True

    def failed(self, exc: Exception) -> errors.LLMOrchestratorError | None:
        """The typed error to raise, or None when another attempt is worth it: an answer
        cut off at the token limit is a rambling model, as good a reason to ask again
        (asking for brevity) as an answer that fails the schema."""
        if isinstance(exc, errors.LLMOrchestratorError):
            return exc
        if not self.model.provider.is_truncation(exc) or self.attempts >= self.max_attempts:
            return self.model.translate_error(exc)
        self.last_errors = [
            {"field": "(root)", "error": "the answer was cut off at the length limit"}
        ]
        self.messages.append(
            HumanMessage(
                "Your answer was cut off at the length limit. Reply again, much more briefly."
            )
        )
        return None

    def remaining_s(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.monotonic()

    def accept(self, raw: Any) -> T | None:
        """The validated value, or None after queueing feedback for another attempt."""
        if isinstance(raw, AIMessage):
            self.usage = self.usage + TokenUsage.from_usage_metadata(raw.usage_metadata)
            if (reason := blocked_reason(raw)) is not None:
                raise errors.ProviderError(
                    f"The provider withheld the answer ({reason}).",
                    model=self.model.model_id,
                    blocked_reason=reason,
                    token_usage=self.usage.model_dump(),
                    suggestion="Rephrase the input, or use another model.",
                )
        try:
            return self.schema.model_validate(self.structured.parse(raw))
        except pydantic.ValidationError as exc:
            self.last_errors = pydantic_errors(exc)
        except InvalidAnswerError as exc:
            self.last_errors = [{"field": "(root)", "error": str(exc)}]
        problems = "; ".join(f"{e['field']}: {e['error']}" for e in self.last_errors)
        if isinstance(raw, AIMessage):
            self.messages.append(AIMessage(content=raw.text or ""))
        self.messages.append(
            HumanMessage(
                f"That answer was invalid ({problems}). Reply again with only a JSON object "
                "that matches the schema."
            )
        )
        return None

    def result(self, value: T) -> StructuredResult[T]:
        return StructuredResult(value=value, usage=self.usage, attempts=self.attempts)

    def exhausted(self) -> errors.ProviderError:
        return errors.ProviderError(
            f"The model's output did not match {self.schema.__name__} after "
            f"{self.attempts} attempt(s).",
            model=self.model.model_id,
            schema=self.schema.__name__,
            errors=self.last_errors[:10],
            token_usage=self.usage.model_dump(),
            suggestion="Retry, or use a larger model (e.g. 'openai' or 'gemini').",
        )


def structured_model(
    model: ResolvedModel,
    schema: type[pydantic.BaseModel],
    settings: ModelSettings,
    loop: asyncio.AbstractEventLoop | None = None,
) -> StructuredModel:
    """The model bound to ``schema``. Building it may block (client set-up reads
    certificates): async callers build it in a thread and pass their ``loop``."""
    name, _, _, method, bounded = _binding(model, schema, settings)
    return model.provider.structured_model(
        name, settings, schema, method=method, bounded=bounded, loop=loop
    )


def cached_structured_model(
    model: ResolvedModel,
    schema: type[pydantic.BaseModel],
    settings: ModelSettings,
    loop: asyncio.AbstractEventLoop,
) -> StructuredModel | None:
    """``structured_model`` when it is built already for ``loop`` (None otherwise):
    nothing to build, so an event loop may ask for it itself."""
    return model.provider.cached_structured_model(_binding(model, schema, settings), loop)


def _binding(
    model: ResolvedModel, schema: type[pydantic.BaseModel], settings: ModelSettings
) -> StructuredBinding:
    capabilities = model.capabilities
    return (
        model.details.model,
        settings,
        schema,
        capabilities.structured_output,
        capabilities.bounded_output,
    )


def invoke_structured(
    model: ResolvedModel,
    messages: Sequence[BaseMessage],
    schema: type[T],
    settings: ModelSettings,
    *,
    retries: int = 1,
    deadline: float | None = None,
    interrupt: Callable[[], None] | None = None,
) -> StructuredResult[T]:
    call = _Conversation(model, messages, schema, settings, retries, deadline, None, interrupt)
    while call.next_attempt():
        try:
            with (
                slot(model.limits, deadline, interrupt),
                model.provider.bounded_call(call.remaining_s()) as options,
            ):
                output = call.structured.runnable.invoke(call.messages, **options)
        except Exception as exc:
            if (error := call.failed(exc)) is not None:
                raise error from exc
            continue
        if (value := call.accept(output)) is not None:
            return call.result(value)
    raise call.exhausted()


async def ainvoke_structured(
    model: ResolvedModel,
    messages: Sequence[BaseMessage],
    schema: type[T],
    settings: ModelSettings,
    *,
    retries: int = 1,
    deadline: float | None = None,
    structured: StructuredModel | None = None,
    interrupt: Callable[[], None] | None = None,
) -> StructuredResult[T]:
    call = _Conversation(
        model, messages, schema, settings, retries, deadline, structured, interrupt
    )
    while call.next_attempt():
        try:
            async with aslot(model.limits, deadline, interrupt):
                output = await call.structured.runnable.ainvoke(call.messages)
        except Exception as exc:
            if (error := call.failed(exc)) is not None:
                raise error from exc
            continue
        if (value := call.accept(output)) is not None:
            return call.result(value)
    raise call.exhausted()
