"""Running an operation for an API request: parse, record, respond. Shared by every
endpoint that calls a model (``/api/llm/execute/`` and the pillar actions)."""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.signals import setting_changed
from django.utils.module_loading import import_string
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import UserRateThrottle
from rest_framework.views import APIView

from backend.llm import exceptions as errors
from backend.llm.orchestrator import LLMOrchestrator
from backend.llm.runs import RunService
from backend.llm.types import LLMRequest

__all__ = [
    "CanExecuteRuns",
    "ExecuteRateThrottle",
    "authenticated_user",
    "get_run_service",
    "run_and_respond",
]


def authenticated_user(request: Request) -> User:
    """The caller (every endpoint requires authentication, so never anonymous here)."""
    user = request.user
    if not isinstance(user, User):
        raise errors.AuthenticationError("Authentication required.")
    return user


MAX_IDEMPOTENCY_KEY = 255


@lru_cache(maxsize=1)
def get_run_service() -> RunService:
    """One service per process. ``settings.LLM_ORCHESTRATOR_FACTORY`` (a dotted path to a
    callable returning an ``LLMOrchestrator``) lets tests and deployments supply their own."""
    factory_path = getattr(settings, "LLM_ORCHESTRATOR_FACTORY", None)
    factory: Callable[[], LLMOrchestrator] = (
        import_string(factory_path) if factory_path else LLMOrchestrator
    )
    return RunService(factory())


def _reset(setting: str, **kwargs: object) -> None:
    if setting in ("LLM_ORCHESTRATOR_FACTORY", "LLM_ORCHESTRATOR"):
        get_run_service.cache_clear()


setting_changed.connect(_reset, weak=False, dispatch_uid="llm-run-service-reset")


class CanExecuteRuns(BasePermission):
    """Calling a model costs money: it needs the ``llm.add_run`` permission."""

    message = "Running LLM operations needs the 'llm.add_run' permission."

    def has_permission(self, request: Request, view: APIView) -> bool:
        return bool(request.user and request.user.has_perm("llm.add_run"))


class ExecuteRateThrottle(UserRateThrottle):
    scope = "llm_execute"

    def get_rate(self) -> str | None:
        # Read at request time (DRF binds THROTTLE_RATES at import), so a settings
        # change applies without a restart.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope)
        return str(rate) if rate else None


def run_and_respond(request: Request, llm_request: LLMRequest) -> Response:
    """Record and run ``llm_request`` for the caller; the body is the run's outcome."""
    key = request.headers.get("Idempotency-Key")
    if key is not None and not 0 < len(key) <= MAX_IDEMPOTENCY_KEY:
        raise errors.InvalidRequestError(
            f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters.",
            suggestion="Use a UUID as the key.",
        )
    run = get_run_service().execute(authenticated_user(request), llm_request, key)
    return Response(
        {
            "run_id": str(run.run_id),
            "status": run.status,
            "results": run.results,
            "metadata": run.metadata,
        }
    )
