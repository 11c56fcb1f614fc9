"""Use the orchestrator outside ``manage.py`` (scripts, notebooks, LangGraph Studio)."""

from __future__ import annotations

import os

__all__ = ["ensure_apps", "setup"]


def setup() -> None:
    """Configure Django if nobody has, so that app autodiscovery registers the handlers."""
    import django
    from django.apps import apps

    if apps.ready:
        return
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")
    django.setup()


def ensure_apps() -> None:
    """``setup()`` for a run started from a plain script, unless Django is already loading
    its apps (a feature's ``handlers.py`` that runs an operation while being imported)."""
    from django.apps import apps

    if not apps.ready and not apps.loading:
        setup()
