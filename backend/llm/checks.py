"""System checks (``manage.py check``, and at the start of runserver and migrate): every
setting of the orchestrator and of each provider loads, or an error names it."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

from ._env import ConfigurationError

__all__ = ["check_configuration"]


@register("llm")
def check_configuration(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .config import get_config, reset_config
    from .providers.registry import provider_classes

    problems: list[CheckMessage] = []
    reset_config()
    try:
        config = get_config()
    except ConfigurationError as error:
        return [_error(error)]
    for name, cls in provider_classes().items():
        try:
            cls.settings_class.load(config.providers.get(name))
        except ConfigurationError as error:
            problems.append(_error(error, provider=name))
    return problems


def _error(error: ConfigurationError, provider: str | None = None) -> Error:
    where = f" (provider {provider!r})" if provider else ""
    return Error(
        f"{error}{where}",
        hint=f"Fix {error.setting} in the environment, .env or settings.LLM_ORCHESTRATOR.",
        obj=error.setting,
        id="llm.E001",
    )
