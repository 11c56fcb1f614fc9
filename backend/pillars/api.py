"""Pillar and game-design CRUD, and the spec's pillar actions (each runs an operation)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import Model, QuerySet
from rest_framework import serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response

from backend.llm.api.execution import (
    CanExecuteRuns,
    ExecuteRateThrottle,
    authenticated_user,
    run_and_respond,
)
from backend.llm.api.views import execute_schema
from backend.llm.types import LLMRequest, RunSettings

from .models import GameDesign, Pillar

__all__ = ["GameDesignSerializer", "GameDesignViewSet", "PillarSerializer", "PillarViewSet"]

M = TypeVar("M", bound=Model)


class PillarSerializer(serializers.ModelSerializer[Pillar]):
    class Meta:
        model = Pillar
        fields = ("id", "design", "name", "description", "position", "created_at", "updated_at")
        read_only_fields = ("created_at", "updated_at")

    def get_fields(self) -> dict[str, Any]:
        # Only the caller's designs can be chosen: another user's design and a missing one
        # get the same "does not exist", so the answer reveals nothing.
        fields = super().get_fields()
        user = getattr(self.context.get("request"), "user", None)
        design = fields["design"]
        if isinstance(design, serializers.PrimaryKeyRelatedField):
            owner = getattr(user, "pk", None)
            design.queryset = (
                GameDesign.objects.filter(owner=owner) if owner else GameDesign.objects.none()
            )
        return fields


class GameDesignSerializer(serializers.ModelSerializer[GameDesign]):
    pillars = PillarSerializer(many=True, read_only=True)

    class Meta:
        model = GameDesign
        fields = (
            "id",
            "title",
            "genre",
            "audience",
            "platform",
            "vision",
            "constraints",
            "pillars",
            "created_at",
            "updated_at",
        )
        read_only_fields = ("created_at", "updated_at")


def llm_action(operation: str, data_of: Callable[[Any], dict[str, Any]]) -> Any:
    """A detail route ``POST .../{id}/<operation>/`` running ``pillars.<operation>`` on the
    object (body: model, mode, timeout_ms, options; header: Idempotency-Key)."""

    def run(
        self: viewsets.GenericViewSet[Any], request: Request, pk: str | None = None
    ) -> Response:
        how = RunSettings.parse(request.data)
        what = {"feature": "pillars", "operation": operation, "data": data_of(self.get_object())}
        return run_and_respond(request, LLMRequest.parse({**how.model_dump(), **what}))

    # DRF routes an action by its function name: name it before decorating.
    run.__name__ = operation
    routed = action(
        detail=True,
        methods=["post"],
        url_path=operation,
        permission_classes=[IsAuthenticated, CanExecuteRuns],
        throttle_classes=[ExecuteRateThrottle],
    )(run)
    return execute_schema(RunSettings)(routed)


class GameDesignViewSet(viewsets.ModelViewSet[GameDesign]):
    """A pillar set with the game's context; the whole-set evaluations run on it."""

    serializer_class = GameDesignSerializer

    def get_queryset(self) -> QuerySet[GameDesign]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return GameDesign.objects.none()
        return GameDesign.objects.filter(owner=authenticated_user(self.request)).prefetch_related(
            "pillars"
        )

    def perform_create(self, serializer: serializers.BaseSerializer[GameDesign]) -> None:
        serializer.save(owner=self.request.user)

    evaluate = llm_action("evaluate", GameDesign.llm_pillar_set)
    evaluate_completeness = llm_action("evaluate_completeness", GameDesign.llm_pillar_set)
    evaluate_contradictions = llm_action("evaluate_contradictions", GameDesign.llm_pillar_set)
    suggest_additions = llm_action("suggest_additions", GameDesign.llm_pillar_set)
    evaluate_context = llm_action("evaluate_context", GameDesign.llm_pillar_set)


class PillarViewSet(viewsets.ModelViewSet[Pillar]):
    serializer_class = PillarSerializer

    def get_queryset(self) -> QuerySet[Pillar]:
        if getattr(self, "swagger_fake_view", False):  # drf-spectacular reading the types
            return Pillar.objects.none()
        return Pillar.objects.filter(design__owner=authenticated_user(self.request))

    validate = llm_action("validate", Pillar.llm_input)
    improve = llm_action("improve", Pillar.llm_input)
