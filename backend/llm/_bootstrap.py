"""Use the orchestrator outside ``manage.py`` (scripts, notebooks, LangGraph Studio)."""

from __future__ import annotations

import os

__all__ = ["setup"]


def setup() -> None:
    """Configure Django if nobody has, so that app autodiscovery registers the handlers."""
    import django
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()
