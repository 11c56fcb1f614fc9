"""``BaseOperationHandler``: what one ``feature.operation`` needs from the orchestrator."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

import pydantic
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from .exceptions import ValidationError
from .types import pydantic_errors

__all__ = ["DEFAULT_SYSTEM_PROMPT", "BaseOperationHandler"]

DEFAULT_SYSTEM_PROMPT = (
    "You are a senior game designer reviewing design documents for a studio. "
    "Be concrete and specific to the game described; never invent facts about it. "
    "Answer with a single JSON object that matches the requested schema, and nothing else."
)


class BaseOperationHandler(ABC):
    """Subclass, set ``operation_id`` and ``response_schema``, implement ``build_prompt``.

    ``input_schema`` (optional) validates ``data`` and reports every bad field at once;
    override ``validate_input`` for checks a schema cannot express.
    """

    operation_id: ClassVar[str]
    response_schema: ClassVar[type[pydantic.BaseModel]]
    input_schema: ClassVar[type[pydantic.BaseModel] | None] = None
    system_prompt: ClassVar[str] = DEFAULT_SYSTEM_PROMPT

    @property
    def feature(self) -> str:
        return self.operation_id.partition(".")[0]

    @property
    def operation(self) -> str:
        return self.operation_id.partition(".")[2]

    @classmethod
    def description(cls) -> str:
        """The first line of the handler's docstring (else of its response schema's)."""
        own = cls.__dict__.get("__doc__") or cls.response_schema.__doc__ or ""
        return own.strip().splitlines()[0] if own.strip() else ""

    def validate_input(self, data: dict[str, Any]) -> None:
        if self.input_schema is None:
            return
        try:
            self.input_schema.model_validate(data)
        except pydantic.ValidationError as exc:
            problems = pydantic_errors(exc)
            raise ValidationError(
                f"Invalid data for {self.operation_id}: "
                + "; ".join(f"{p['field']}: {p['error']}" for p in problems),
                operation=self.operation_id,
                errors=problems,
                expected_schema=self.input_schema.__name__,
            ) from None

    @abstractmethod
    def build_prompt(self, data: dict[str, Any]) -> str:
        """The user prompt for ``data`` (already validated)."""

    def build_messages(self, data: dict[str, Any]) -> list[BaseMessage]:
        # The schema travels as the provider's structured-output parameter; repeating it
        # in the prompt costs tokens and small models copy its titles into the answer.
        return [SystemMessage(self.system_prompt), HumanMessage(self.build_prompt(data))]

    def to_results(self, value: pydantic.BaseModel) -> dict[str, Any]:
        return value.model_dump(mode="json")
