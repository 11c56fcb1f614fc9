"""Endpoints of ``/api/llm/``: execute, runs, operations, models."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import viewsets
from rest_framework.decorators import action
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.llm.catalog import describe_operations
from backend.llm.models import Run
from backend.llm.runs import RunService, recover_runs_now_and_then
from backend.llm.types import LLMRequest

from .execution import (
    CanExecuteRuns,
    ExecuteRateThrottle,
    authenticated_user,
    get_run_service,
    run_and_respond,
)
from .serializers import ErrorSerializer, RunResultSerializer, RunSerializer

__all__ = ["ExecuteView", "ModelsView", "OperationsView", "RunViewSet", "execute_schema"]

IDEMPOTENCY_KEY = OpenApiParameter(
    "Idempotency-Key",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Same key and body: the stored run is returned without calling the model.",
)
PREFER = OpenApiParameter(
    "Prefer",
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="'respond-async': answer 202 at once with the queued run and its Location; "
    "a task worker runs it (python manage.py db_worker).",
)
ERRORS = {status: ErrorSerializer for status in (400, 401, 403, 409, 429, 500, 502, 503, 504)}


F = TypeVar("F", bound=Callable[..., Any])


def execute_schema(request: type[Any]) -> Callable[[F], F]:
    """The OpenAPI description shared by every endpoint that runs an operation."""
    decorator: Callable[[F], F] = extend_schema(
        request=request,
        responses={200: RunResultSerializer, 202: RunResultSerializer, **ERRORS},
        parameters=[IDEMPOTENCY_KEY, PREFER],
    )
    return decorator


class ExecuteView(APIView):
    permission_classes = (IsAuthenticated, CanExecuteRuns)
    throttle_classes = (ExecuteRateThrottle,)

    @execute_schema(LLMRequest)
    def post(self, request: Request) -> Response:
        # The body is an LLMRequest, validated by the request type itself.
        return run_and_respond(request, LLMRequest.parse(request.data))


@extend_schema(
    parameters=[
        OpenApiParameter(name, OpenApiTypes.STR, OpenApiParameter.QUERY, required=False)
        for name in ("status", "feature", "operation", "mode")
    ]
)
class RunViewSet(viewsets.ReadOnlyModelViewSet[Run]):
    """The caller's runs; another user's run is a 404 (RunNotFoundError)."""

    serializer_class = RunSerializer
    lookup_field = "run_id"
    lookup_value_regex = "[0-9a-fA-F-]{36}"
    not_found_error = True

    def get_queryset(self) -> QuerySet[Run]:
        # Reading runs is when a client would notice one stuck: recover those whose
        # process died first (at most every third of a lease per process, as workers do).
        recover_runs_now_and_then()
        runs = Run.objects.filter(owner=authenticated_user(self.request))
        for name in ("status", "feature", "operation", "mode"):
            if value := self.request.query_params.get(name):
                runs = runs.filter(**{name: value})
        return runs

    @extend_schema(request=None, responses={200: RunSerializer, 404: ErrorSerializer})
    @action(detail=True, methods=["post"])
    def cancel(self, request: Request, run_id: str | None = None) -> Response:
        """Cancel a queued or running run (a finished one is returned as it is)."""
        run = RunService.cancel(self.get_object())
        return Response(RunSerializer(run).data)


class OperationsView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        orchestrator = get_run_service().orchestrator
        return Response(
            {"operations": describe_operations(orchestrator.handlers, orchestrator.plans)}
        )


class ModelsView(APIView):
    @extend_schema(responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response(get_run_service().orchestrator.model_manager.describe())
