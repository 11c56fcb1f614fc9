"""Request and response shapes of the LLM API (also the OpenAPI schema)."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from backend.llm.models import Run
from backend.llm.types import EXECUTION_MODES

__all__ = [
    "ErrorSerializer",
    "ExecuteRequestSerializer",
    "RunOptionsSerializer",
    "RunResultSerializer",
    "RunSerializer",
]


class RunOptionsSerializer(serializers.Serializer[Any]):
    """How to run: model, mode and options (the pillar actions take only these)."""

    model = serializers.CharField(required=False, allow_null=True, max_length=200)
    mode = serializers.ChoiceField(choices=EXECUTION_MODES, required=False, allow_null=True)
    timeout_ms = serializers.IntegerField(
        required=False, allow_null=True, min_value=1, max_value=3_600_000
    )
    options = serializers.DictField(
        required=False,
        help_text="temperature, max_output_tokens, "
        "output_retries, agent_models, cross_check_rounds, strict",
    )


class ExecuteRequestSerializer(RunOptionsSerializer):
    feature = serializers.CharField(max_length=64)
    operation = serializers.CharField(max_length=64)

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        # "data" would shadow Serializer.data as a class attribute.
        fields = super().get_fields()
        fields["data"] = serializers.DictField(
            help_text="The operation's input (see GET /api/llm/operations/)."
        )
        return fields


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
