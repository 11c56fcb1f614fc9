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
    run_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=Run.Status.choices)
    results = serializers.DictField()
    metadata = serializers.DictField()


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
            "status",
            "results",
            "error",
            "metadata",
            "idempotency_key",
            "created_at",
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
