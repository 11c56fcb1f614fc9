"""JSON schemas as sent to models: inlined, and bounded for small models."""

from __future__ import annotations

import copy
from functools import lru_cache
from typing import Any

from pydantic import BaseModel

__all__ = ["inline_refs", "model_schema"]

#: Caps for small models (they repeat themselves until max_tokens otherwise).
MAX_STRING_CHARS = 120
MAX_LIST_ITEMS = 3


def _bound(node: Any) -> Any:
    if isinstance(node, dict):
        bounded = {key: _bound(value) for key, value in node.items()}
        if bounded.get("type") == "string" and "enum" not in bounded:
            bounded["maxLength"] = min(bounded.get("maxLength", MAX_STRING_CHARS), MAX_STRING_CHARS)
        if bounded.get("type") == "array":
            bounded["maxItems"] = min(bounded.get("maxItems", MAX_LIST_ITEMS), MAX_LIST_ITEMS)
        return bounded
    if isinstance(node, list):
        return [_bound(item) for item in node]
    return node


def _inline_refs(node: Any, defs: dict[str, Any]) -> Any:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(defs[ref.removeprefix("#/$defs/")])
            extra = {key: value for key, value in node.items() if key != "$ref"}
            return _inline_refs({**target, **extra}, defs)
        return {key: _inline_refs(value, defs) for key, value in node.items() if key != "$defs"}
    if isinstance(node, list):
        return [_inline_refs(item, defs) for item in node]
    return node


def inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    """``schema`` with every ``#/$defs/...`` reference replaced by its definition."""
    inlined: dict[str, Any] = _inline_refs(schema, schema.get("$defs", {}))
    return inlined


def model_schema(schema: type[BaseModel], *, bounded: bool) -> dict[str, Any]:
    """``schema``'s JSON schema with ``$ref``s inlined (not every vendor resolves them),
    and string/list lengths capped when ``bounded``. A fresh copy per call."""
    return copy.deepcopy(_cached_schema(schema, bounded))


@lru_cache(maxsize=256)
def _cached_schema(schema: type[BaseModel], bounded: bool) -> dict[str, Any]:
    # Generating a JSON schema costs about a millisecond: more than the rest of a run's
    # orchestration, so it is done once per (schema, bounded).
    raw = schema.model_json_schema()
    inlined: dict[str, Any] = _inline_refs(raw, raw.get("$defs", {}))
    inlined.setdefault("title", schema.__name__)
    return _bound(inlined) if bounded else inlined
