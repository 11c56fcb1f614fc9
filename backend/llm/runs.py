"""Recording runs: a run row exists before the model is called, so nothing is lost.

Idempotency: a key is claimed by inserting the run under a unique constraint
(owner, idempotency_key); the loser of a race reads the winner's run instead of
calling the model. Same key and same body replays the stored outcome; a different body
is an ``IdempotencyConflictError``.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from . import exceptions as errors
from .models import Run
from .orchestrator import LLMOrchestrator
from .types import LLMRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = ["RunService", "request_hash"]

#: How long a replay waits for the first request with its key to finish.
REPLAY_WAIT_S = 120.0


def request_hash(request: LLMRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


class RunService:
    def __init__(self, orchestrator: LLMOrchestrator | None = None) -> None:
        self.orchestrator = orchestrator or LLMOrchestrator()

    def execute(
        self,
        user: User,
        request: LLMRequest,
        idempotency_key: str | None = None,
    ) -> Run:
        """Run and record ``request`` for ``user``; a typed error is recorded, then raised."""
        fields = self._fields(user, request, idempotency_key)
        if idempotency_key is None:
            run = Run.objects.create(**fields)
        else:
            try:
                with transaction.atomic():
                    run = Run.objects.create(**fields)
            except IntegrityError:
                existing = Run.objects.get(owner=user, idempotency_key=idempotency_key)
                return self._replay(existing, fields["request_hash"])
        return self._run(run, request)

    def _fields(
        self, user: Any, request: LLMRequest, idempotency_key: str | None
    ) -> dict[str, Any]:
        return {
            "owner": user,
            "feature": request.feature,
            "operation": request.operation,
            "mode": request.execution_mode or self.orchestrator.config.default_execution_mode,
            "requested_model": request.model_id or self.orchestrator.config.default_model,
            "request_data": request.data,
            "request_options": request.options.model_dump(mode="json", exclude_defaults=True),
            "idempotency_key": idempotency_key,
            "request_hash": request_hash(request),
        }

    def _replay(self, run: Run, body_hash: str) -> Run:
        if run.request_hash != body_hash:
            raise errors.IdempotencyConflictError(
                "This Idempotency-Key was used with a different request body.",
                run_id=str(run.run_id),
            )
        deadline = time.monotonic() + REPLAY_WAIT_S
        while run.status == Run.Status.RUNNING and time.monotonic() < deadline:
            time.sleep(0.05)
            run.refresh_from_db()
        if run.status == Run.Status.RUNNING:
            raise errors.IdempotencyConflictError(
                "The request with this Idempotency-Key is still running.",
                run_id=str(run.run_id),
                suggestion="Retry later to get its stored result.",
            )
        if run.status == Run.Status.FAILED and run.error:
            raise errors.LLMOrchestratorError.from_dict(run.error)
        return run

    def _run(self, run: Run, request: LLMRequest) -> Run:
        try:
            response = self.orchestrator.execute(request, run_id=str(run.run_id))
        except Exception as exc:
            error = (
                exc
                if isinstance(exc, errors.LLMOrchestratorError)
                else errors.AgentFailureError(
                    f"Unexpected {type(exc).__name__}.", cause=type(exc).__name__
                )
            )
            run.status = Run.Status.FAILED
            run.error = error.to_dict()
            run.finished_at = timezone.now()
            run.save(update_fields=["status", "error", "finished_at"])
            if error is exc:
                raise
            raise error from exc
        metadata = response.metadata
        run.status = Run.Status.DEGRADED if metadata.degraded else Run.Status.SUCCEEDED
        run.results = response.results
        run.metadata = metadata.model_dump(mode="json")
        run.resolved_models = metadata.models_used
        run.finished_at = timezone.now()
        run.save(update_fields=["status", "results", "metadata", "resolved_models", "finished_at"])
        return run
