"""Request and response shapes of the LLM API (also the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backend.llm.models import Run

__all__ = [
    "ErrorSerializer",
    "RunResultSerializer",
    "RunSerializer",
]


class RunResultSerializer(serializers.Serializer[Any]):
    """A run's outcome; while it is queued or running (202), results and metadata are
    null and ``Location`` names the run to poll."""

    run_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Run.Status.choices)
    results = serializers.DictField(allow_null=True)
    metadata = serializers.DictField(allow_null=True)


class RunSerializer(serializers.ModelSerializer[Run]):
    class Meta:
        model = Run
        fields = (
            "run_id",
            "feature",
            "operation",
            "mode",
            "requested_model",
            "resolved_models",
            "request_data",
            "request_options",
            "timeout_ms",
            "background",
            "status",
            "attempts",
            "progress",
            "results",
            "error",
            "metadata",
            "idempotency_key",
            "created_at",
            "started_at",
            "finished_at",
        )
        read_only_fields = fields


class _ErrorBodySerializer(serializers.Serializer[Any]):
    code = serializers.CharField()
    message = serializers.CharField()
    suggestion = serializers.CharField(allow_null=True)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "context" would shadow Field.context as a class attribute.
        fields = super().get_fields()
        fields["context"] = serializers.DictField()
        return fields


class ErrorSerializer(serializers.Serializer[Any]):
    error = _ErrorBodySerializer()
