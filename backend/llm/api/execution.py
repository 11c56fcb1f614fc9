"""Running an operation for an API request: parse, record, respond. Shared by every
endpoint that calls a model (``/api/llm/execute/`` and the pillar actions)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.urls import reverse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backend.llm import exceptions as errors
from backend.llm.models import Run
from backend.llm.runs import get_run_service
from backend.llm.types import LLMRequest

from .throttling import ExecuteRateThrottle

__all__ = [
    "CanExecuteRuns",
    "ExecuteRateThrottle",
    "authenticated_user",
    "get_run_service",
    "run_and_respond",
    "wants_async",
]


def authenticated_user(request: Request) -> User:
    """The caller (every endpoint requires authentication, so never anonymous here)."""
    user = request.user
    if not isinstance(user, User):
        raise errors.AuthenticationError("Authentication required.")
    return user


MAX_IDEMPOTENCY_KEY = 255


class CanExecuteRuns(BasePermission):
    """Calling a model costs money: it needs the ``llm.add_run`` permission."""

    message = "Running LLM operations needs the 'llm.add_run' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("llm.add_run"))


def wants_async(request: Request) -> bool:
    """RFC 7240: ``Prefer: respond-async`` asks for 202 and a run to poll."""
    preferences = request.headers.get("Prefer", "")
    return any(p.strip().lower() == "respond-async" for p in preferences.split(","))


def run_and_respond(request: Request, llm_request: LLMRequest) -> Response:
    """Record ``llm_request`` for the caller and run it: here (200 with the outcome), or
    with ``Prefer: respond-async`` on a task worker (202, ``Location`` of the run). A
    stored run with the same Idempotency-Key comes back at once, still active (202) or
    finished."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise errors.InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
            suggestion="Use a UUID as the key.",
        )
    service, user = get_run_service(), authenticated_user(request)
    if wants_async(request):
        run, _ = service.submit(user, llm_request, key, background=True)
        if run.status == Run.Status.FAILED and run.error:
            raise errors.LLMOrchestratorError.from_dict(run.error)
    else:
        run = service.execute(user, llm_request, key)
    body = {
        "run_id": str(run.run_id),
        "status": run.status,
        "results": run.results,
        "metadata": run.metadata,
    }
    if not run.is_active:
        return Response(body)
    location = reverse("llm-run-detail", kwargs={"run_id": str(run.run_id)})
    return Response(body, status=202, headers={"Location": location, "Retry-After": "1"})
