"""Running an operation for an API request: parse, record, respond. Shared by every
endpoint that calls a model (``/api/llm/execute/`` and the pillar actions)."""

from __future__ import annotations

from django.contrib.auth.models import User
from django.core.cache import cache
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


#: How long a user's right to run is remembered by a process. A change of permissions or
#: groups is seen at once by the process that made it (signals), by others within this.
PERMISSION_CACHE_S = 30.0


class CanExecuteRuns(BasePermission):
    """Calling a model costs money: it needs the ``llm.add_run`` permission. Django reads
    a user's permissions (two queries) afresh on every request: the answer is cached."""

    message = "Running LLM operations needs the 'llm.add_run' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        user = request.user
        if not (user and user.is_authenticated and user.is_active):
            return False
        if user.is_superuser:
            return True
        # date_joined tells apart two users that had the same id (one deleted, one new).
        joined = user.date_joined.timestamp() if isinstance(user, User) else 0
        key = f"llm:can-run:{_permission_generation()}:{user.pk}:{joined}"
        allowed = cache.get(key)
        if allowed is None:
            allowed = user.has_perm("llm.add_run")
            cache.set(key, allowed, PERMISSION_CACHE_S)
        return bool(allowed)


def _permission_generation() -> int:
    return int(cache.get_or_set("llm:permission-generation", 0, None) or 0)


def forget_permissions(**kwargs: object) -> None:
    """Any change to who holds which permission: every cached answer is stale."""
    try:
        cache.incr("llm:permission-generation")
    except ValueError:  # evicted meanwhile: a new generation either way
        cache.set("llm:permission-generation", 1, None)


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
