from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from .models import Run


@admin.register(Run)
class RunAdmin(admin.ModelAdmin[Run]):
    """Runs are a record: readable and searchable, never edited."""

    list_display = (
        "run_id",
        "owner",
        "feature",
        "operation",
        "mode",
        "requested_model",
        "status",
        "created_at",
    )
    list_filter = ("status", "mode", "feature", "operation", "requested_model")
    search_fields = ("run_id", "owner__username", "operation", "requested_model", "idempotency_key")
    date_hierarchy = "created_at"

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [field.name for field in Run._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
