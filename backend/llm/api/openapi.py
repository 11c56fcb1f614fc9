"""OpenAPI post-processing: every operation documents the error envelope as its
``default`` response, so each status the exception handler can answer is described."""

from __future__ import annotations

from typing import Any

__all__ = ["add_error_envelope"]

ERROR_SCHEMA = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "context", "suggestion"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "context": {"type": "object", "additionalProperties": {}},
                "suggestion": {"type": "string", "nullable": True},
            },
        }
    },
}


def add_error_envelope(
    result: dict[str, Any], generator: Any, request: Any, public: bool
) -> dict[str, Any]:
    result.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_SCHEMA
    reference = {"$ref": "#/components/schemas/ErrorEnvelope"}
    for path_item in result.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            responses.setdefault(
                "default",
                {"description": "Error", "content": {"application/json": {"schema": reference}}},
            )
    return result
