from __future__ import annotations

from django.apps import AppConfig
from django.core.signals import setting_changed


class LlmConfig(AppConfig):
    name = "backend.llm"
    label = "llm"
    verbose_name = "LLM Orchestrator"

    def ready(self) -> None:
        import django_stubs_ext
        from rest_framework import fields, serializers, viewsets

        # Generic DRF classes (`ModelSerializer[Pillar]`) at runtime, for mypy's sake.
        django_stubs_ext.monkeypatch(
            extra_classes=[
                fields.Field,
                serializers.BaseSerializer,
                viewsets.GenericViewSet,
                viewsets.ModelViewSet,
                viewsets.ReadOnlyModelViewSet,
            ]
        )
        from . import checks  # noqa: F401 - registers the configuration check
        from .config import reset_config
        from .context import default_model_manager
        from .handler_registry import autodiscover

        autodiscover()
        from .observability import configure_tracing

        configure_tracing()  # only with OTEL_EXPORTER_OTLP_ENDPOINT set
        _forget_cached_permissions_on_change()

        def _on_setting_changed(setting: str, **kwargs: object) -> None:
            if setting == "LLM_ORCHESTRATOR":
                reset_config()
                default_model_manager.cache_clear()

        setting_changed.connect(_on_setting_changed, weak=False, dispatch_uid="llm-config-reset")


def _forget_cached_permissions_on_change() -> None:
    """The API caches who may run (``api.execution.CanExecuteRuns``): a change of a user's
    permissions or groups, or of a group's permissions, invalidates it."""
    from django.contrib.auth.models import Group, User
    from django.db.models.signals import m2m_changed

    from .api.execution import forget_permissions

    for through in (User.user_permissions.through, Group.permissions.through, User.groups.through):
        m2m_changed.connect(
            forget_permissions, sender=through, weak=False, dispatch_uid=f"llm-{through.__name__}"
        )
