"""What can be run: the one listing of operations behind ``manage.py llm operations``
and ``GET /api/llm/operations/``."""

from __future__ import annotations

from typing import Any

from ._schema import model_schema
from .handler_registry import HandlerRegistry, registry
from .plan_registry import PlanRegistry, plan_registry

__all__ = ["describe_operations"]


def describe_operations(
    handlers: HandlerRegistry | None = None,
    plans: PlanRegistry | None = None,
    *,
    schemas: bool = True,
) -> list[dict[str, Any]]:
    """Each registered operation: id, description, agents in agentic mode, and (with
    ``schemas``) its input and response JSON schemas."""
    handlers, plans = handlers or registry, plans or plan_registry
    listing = []
    for operation_id in handlers.operations():
        handler = handlers.handler(operation_id)
        entry: dict[str, Any] = {
            "operation": operation_id,
            "description": handler.description(),
            "agentic_plan": plans.get(operation_id).agent_names,
        }
        if schemas:
            entry["input_schema"] = (
                handler.input_schema.model_json_schema() if handler.input_schema else None
            )
            entry["response_schema"] = model_schema(handler.response_schema, bounded=False)
        listing.append(entry)
    return listing
