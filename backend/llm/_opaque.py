"""Collaborators that ride in the run context without being part of its JSON schema."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic_core import core_schema

if TYPE_CHECKING:
    from pydantic import GetCoreSchemaHandler

__all__ = ["Opaque"]


class Opaque:
    """Validated by ``isinstance`` only, so that LangGraph can export the JSON schema of a
    context that carries an instance (Studio hides it with ``SkipJsonSchema``)."""

    @classmethod
    def __get_pydantic_core_schema__(
        cls, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.is_instance_schema(cls)
