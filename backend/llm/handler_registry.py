"""Which handler serves which ``feature.operation``; like Django admin's site registry."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import TypeVar, overload

from ._opaque import Opaque
from .exceptions import UnknownFeatureError, UnknownOperationError
from .operation_handler import BaseOperationHandler

__all__ = [
    "AlreadyRegistered",
    "HandlerRegistry",
    "autodiscover",
    "get_handler",
    "register_handler",
    "registry",
]

H = TypeVar("H", bound=type[BaseOperationHandler])
_OPERATION_ID = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")


class AlreadyRegistered(Exception):  # noqa: N818 - Django admin's name
    """An operation id was registered twice with different handler classes."""


class HandlerRegistry(Opaque):
    def __init__(self) -> None:
        self._handlers: dict[str, type[BaseOperationHandler]] = {}
        self._lock = threading.Lock()

    def register(self, operation_id: str, handler_cls: type[BaseOperationHandler]) -> None:
        if not (isinstance(handler_cls, type) and issubclass(handler_cls, BaseOperationHandler)):
            raise TypeError(f"{handler_cls!r} is not a BaseOperationHandler subclass")
        if not _OPERATION_ID.match(operation_id):
            raise ValueError(f"Operation id {operation_id!r} is not 'feature.operation'")
        declared = getattr(handler_cls, "operation_id", operation_id)
        if declared != operation_id:
            raise ValueError(
                f"{handler_cls.__name__}.operation_id is {declared!r}, registered as "
                f"{operation_id!r}"
            )
        with self._lock:
            existing = self._handlers.get(operation_id)
            if existing is not None and existing is not handler_cls:
                raise AlreadyRegistered(
                    f"{operation_id!r} is already handled by {existing.__module__}."
                    f"{existing.__qualname__}"
                )
            self._handlers[operation_id] = handler_cls

    def unregister(self, operation_id: str) -> None:
        with self._lock:
            self._handlers.pop(operation_id, None)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self._handlers

    def features(self) -> list[str]:
        return sorted({op.partition(".")[0] for op in self._handlers})

    def operations(self, feature: str | None = None) -> list[str]:
        return sorted(
            op for op in self._handlers if feature is None or op.partition(".")[0] == feature
        )

    def handler(self, operation_id: str) -> type[BaseOperationHandler]:
        """The handler of ``"feature.operation"`` (typed error if unknown)."""
        feature, _, operation = operation_id.partition(".")
        return self.get(feature, operation)

    def get(self, feature: str, operation: str) -> type[BaseOperationHandler]:
        handler = self._handlers.get(f"{feature}.{operation}")
        if handler is not None:
            return handler
        if feature not in self.features():
            raise UnknownFeatureError(
                f"Unknown feature {feature!r}.",
                feature=feature,
                known_features=self.features(),
                suggestion="Use one of: " + ", ".join(self.features()) + ".",
            )
        operations = [op.partition(".")[2] for op in self.operations(feature)]
        raise UnknownOperationError(
            f"Feature {feature!r} has no operation {operation!r}.",
            feature=feature,
            operation=operation,
            known_operations=operations,
            suggestion=f"Use one of {feature}'s operations: " + ", ".join(operations) + ".",
        )


#: The process-wide registry that features register into.
registry = HandlerRegistry()


@overload
def register_handler(operation_id: str, handler_cls: H) -> H: ...
@overload
def register_handler(operation_id: str) -> Callable[[H], H]: ...
@overload
def register_handler(operation_id: H) -> H: ...
def register_handler(operation_id: str | H, handler_cls: H | None = None) -> H | Callable[[H], H]:
    """Register a handler: ``register_handler("pillars.x", Handler)``, or as a decorator,
    ``@register_handler`` (uses ``Handler.operation_id``) or ``@register_handler("pillars.x")``.
    """
    if isinstance(operation_id, type):
        registry.register(operation_id.operation_id, operation_id)
        return operation_id
    if handler_cls is not None:
        registry.register(operation_id, handler_cls)
        return handler_cls

    def decorator(cls: H) -> H:
        registry.register(operation_id, cls)
        return cls

    return decorator


def get_handler(operation_id: str) -> type[BaseOperationHandler]:
    return registry.handler(operation_id)


def autodiscover() -> None:
    """Import ``<app>.llm.handlers`` for every installed Django app (from ``ready()``)."""
    from django.utils.module_loading import autodiscover_modules

    autodiscover_modules("llm.handlers")
