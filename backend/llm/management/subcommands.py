"""Subcommands that other apps add to ``manage.py llm`` (e.g. ``experiment``, ``report``),
registered from their ``AppConfig.ready()``, like admin sites register models."""

from __future__ import annotations

import argparse
from typing import Any, Protocol

from django.core.management.base import BaseCommand

__all__ = ["AlreadyRegistered", "Subcommand", "register_subcommand", "subcommands"]


class AlreadyRegistered(Exception):  # noqa: N818 - Django admin's name
    """A second subcommand claimed a name already taken."""


class Subcommand(Protocol):
    name: str
    help: str

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def handle(self, command: BaseCommand, options: dict[str, Any]) -> None: ...


_subcommands: dict[str, Subcommand] = {}


def register_subcommand(subcommand: Subcommand) -> Subcommand:
    existing = _subcommands.get(subcommand.name)
    if existing is not None and type(existing) is not type(subcommand):
        raise AlreadyRegistered(f"'llm {subcommand.name}' is already registered")
    _subcommands[subcommand.name] = subcommand
    return subcommand


def subcommands() -> dict[str, Subcommand]:
    return dict(_subcommands)
