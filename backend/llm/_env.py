"""The one way settings are read: values given in code (or Django's ``LLM_ORCHESTRATOR``
dict), then the process environment, then a ``.env`` file, then defaults.

``Config`` (the orchestrator's own settings) and every provider's settings class derive
from ``EnvSettings``, so each declares its own variables and nothing enumerates them
centrally. The ``.env`` file is ``$LLM_ORCHESTRATOR_ENV_FILE`` or ``./.env``; it is read
as a source, never copied into ``os.environ``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Self

import pydantic
from django.core.exceptions import ImproperlyConfigured
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    DotEnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

__all__ = ["ConfigurationError", "EnvSettings", "env_file"]


class ConfigurationError(ImproperlyConfigured):
    """A setting that cannot be used; names the variable. A server-side fault, reported
    by ``manage.py check`` at start-up, never a client's 4xx."""

    def __init__(self, message: str, setting: str) -> None:
        super().__init__(message)
        self.setting = setting


def env_file() -> Path:
    return Path(os.environ.get("LLM_ORCHESTRATOR_ENV_FILE") or Path.cwd() / ".env")


class EnvSettings(BaseSettings):
    """Settings read from code, the environment and ``.env``, in that order."""

    model_config = SettingsConfigDict(
        frozen=True, extra="ignore", env_ignore_empty=True, populate_by_name=True
    )

    def __init__(self, **values: Any) -> None:
        # Environment variables that are not ours are ignored, but a value given in code
        # for a field that does not exist is a typo: fail instead of dropping it.
        known = {
            *type(self).model_fields,
            *(v for f in type(self).model_fields for v in type(self).env_names(f)),
        }
        unknown = sorted(k for k in values if not k.startswith("_") and k not in known)
        if unknown:
            raise ConfigurationError(
                f"{type(self).__name__} has no setting {', '.join(unknown)}.", setting=unknown[0]
            )
        super().__init__(**values)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The .env path is looked up per load, so that tests can point it elsewhere.
        return init_settings, env_settings, DotEnvSettingsSource(settings_cls, env_file())

    @classmethod
    def env_names(cls, field: str) -> tuple[str, ...]:
        """The environment variables that set ``field``."""
        info: FieldInfo = cls.model_fields[field]
        alias = info.validation_alias
        if isinstance(alias, pydantic.AliasChoices):
            return tuple(str(choice) for choice in alias.choices)
        if isinstance(alias, str):
            return (alias,)
        return (f"{cls.model_config.get('env_prefix', '')}{field}".upper(),)

    @classmethod
    def field_for(cls, variable: str) -> str | None:
        """The field that ``variable`` (an environment variable name) sets, if any."""
        variable = variable.upper()
        for name in cls.model_fields:
            if variable in cls.env_names(name):
                return name
        return None

    @classmethod
    def load(cls, overrides: Mapping[str, Any] | None = None) -> Self:
        """The settings, or a ``ConfigurationError`` naming the bad variable."""
        try:
            return cls(**dict(overrides or {}))
        except pydantic.ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            field, problem = (str(first["loc"][0]) if first["loc"] else ""), first["msg"]
        except SettingsError as exc:  # a variable that is not valid JSON for a dict field
            found = re.search(r'field "(\w+)"', str(exc))
            field, problem = (found.group(1) if found else ""), "not valid JSON"
        setting = cls.env_names(field)[0] if field in cls.model_fields else field
        raise ConfigurationError(f"Invalid setting {setting}: {problem}.", setting=setting)
