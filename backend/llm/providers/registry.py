"""The provider registry: ``@register_provider`` on a ``BaseProvider`` subclass."""

from __future__ import annotations

from typing import TypeVar

from .base import BaseProvider

__all__ = ["AlreadyRegistered", "provider_classes", "register_provider", "unregister_provider"]

P = TypeVar("P", bound=type[BaseProvider])

_providers: dict[str, type[BaseProvider]] = {}


class AlreadyRegistered(Exception):  # noqa: N818 - Django admin's name for the same thing
    """A second provider class claimed a provider name already taken."""


def register_provider(cls: P) -> P:
    """Class decorator: make ``cls`` available under ``cls.provider_name``."""
    if not (isinstance(cls, type) and issubclass(cls, BaseProvider)):
        raise TypeError(f"{cls!r} is not a BaseProvider subclass")
    name = getattr(cls, "provider_name", None)
    if not name or ":" in name:
        raise ValueError(f"{cls.__name__}.provider_name must be a non-empty name without ':'")
    existing = _providers.get(name)
    if existing is not None and existing is not cls:
        raise AlreadyRegistered(f"Provider {name!r} is already registered by {existing.__name__}")
    _providers[name] = cls
    return cls


def unregister_provider(name: str) -> None:
    _providers.pop(name, None)


def provider_classes() -> dict[str, type[BaseProvider]]:
    return dict(_providers)
