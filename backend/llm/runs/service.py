"""Recorded runs: a run row exists before the model is called, so nothing is lost.

``submit`` records a run (``queued``); it is then run either here, in the caller's
process (``run``), or by a task worker (``worker.execute_run``), through the same lease
(``_leases``) and the same state machine. Idempotency: a key is claimed by
inserting the run under a unique constraint (owner, idempotency_key); the loser of a race
gets the winner's run back at once, whatever its status. A different body with the same
key is an ``IdempotencyConflictError``.
"""

from __future__ import annotations

import functools
import hashlib
import json
import math
import threading
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.signals import setting_changed
from django.db import IntegrityError, connection, transaction
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from .. import exceptions as errors
from .. import observability
from .._dbtime import now_plus
from ..models import Run
from ..orchestrator import LLMOrchestrator
from ..types import LLMRequest
from . import queue
from ._leases import Lease, running, worker_identity

if TYPE_CHECKING:
    from django.contrib.auth.models import User

__all__ = [
    "ProcessStoppingError",
    "RunCancelledError",
    "RunInterrupted",
    "RunService",
    "get_run_service",
    "request_hash",
]


class RunInterrupted(BaseException):
    """Raised at a safe point of a run that must stop there. A BaseException, like
    KeyboardInterrupt, so that no ``except Exception`` on the way (an agent that keeps
    its siblings' work when it fails) turns it into a failure."""


class RunCancelledError(RunInterrupted):
    """The run's lease was lost (cancelled, or taken over): stop, write nothing."""


class ProcessStoppingError(RunInterrupted):
    """The run's process was asked to stop (SIGTERM to a worker): the run goes back to
    the queue for another worker."""


def request_hash(request: LLMRequest) -> str:
    canonical = json.dumps(request.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _typed(exc: BaseException) -> errors.LLMOrchestratorError:
    if isinstance(exc, errors.LLMOrchestratorError):
        return exc
    return errors.AgentFailureError(f"Unexpected {type(exc).__name__}.", cause=type(exc).__name__)


def _read_when_needed(run: Run, *names: str) -> None:
    """Leave fields the database has just written (its clock, its counters) to be loaded
    from it on first access (Django's deferred fields), rather than read back now."""
    for name in names:
        run.__dict__.pop(name, None)


def _as_finished(run: Run, outcome: dict[str, Any]) -> Run:
    """``run`` as its holder's ``finish`` has just stored it with ``outcome``, without
    reading it back."""
    for name, value in outcome.items():
        setattr(run, name, value)
    run.lease_owner, run.lease_expires_at = "", None
    _read_when_needed(run, "started_at", "finished_at", "attempts", "progress", "error")
    return run


class RunService:
    def __init__(self, orchestrator: LLMOrchestrator | None = None) -> None:
        self.orchestrator = orchestrator or LLMOrchestrator()

    # -- recording -------------------------------------------------------------------
    def submit(
        self,
        user: User,
        request: LLMRequest,
        idempotency_key: str | None = None,
        *,
        background: bool = False,
        running_for: str | None = None,
    ) -> tuple[Run, bool]:
        """Record ``request`` as a queued run; (run, True), or (the stored run, False)
        when ``idempotency_key`` was used before with the same body. A background run is
        handed to the task queue once the row is committed. ``running_for``: record it
        already running, its lease held by that owner (who runs it at once: ``run``
        with ``started_by``), one statement instead of an insert and a claim."""
        fields = self._fields(user, request, idempotency_key, background)
        if running_for is not None:
            fields |= running(running_for) | {"attempts": 1}
        timeout = timedelta(milliseconds=self._timeout_ms(request))
        try:
            # One INSERT is atomic on its own; inside a caller's transaction a savepoint
            # keeps a lost idempotency race from breaking it.
            with transaction.atomic() if connection.in_atomic_block else nullcontext():
                # The deadline counts from submission in database time: queue time, every
                # attempt and every hand-back share it.
                run = Run.objects.create(**fields, deadline_at=now_plus(timeout))
                run.deadline_at = run.created_at + timeout  # the same statement's Now()
                if running_for is not None:
                    _read_when_needed(run, "lease_expires_at", "started_at")
        except IntegrityError:
            if idempotency_key is None:
                raise
            existing = Run.objects.get(owner=user, idempotency_key=idempotency_key)
            if existing.request_hash != fields["request_hash"]:
                raise errors.IdempotencyConflictError(
                    "This Idempotency-Key was used with a different request body.",
                    run_id=str(existing.run_id),
                ) from None
            return existing, False
        if background:
            transaction.on_commit(lambda: queue.enqueue(run))
        return run, True

    def execute(self, user: User, request: LLMRequest, idempotency_key: str | None = None) -> Run:
        """Record and run ``request`` here; a stored run with the same key comes back as it
        is (still active, or finished; a failed one raises its typed error)."""
        submitted = time.monotonic()
        owner = worker_identity()
        run, created = self.submit(user, request, idempotency_key, running_for=owner)
        if not created:
            if run.status == Run.Status.FAILED and run.error:
                raise errors.LLMOrchestratorError.from_dict(run.error)
            return run
        # Its deadline in database time, less what this process has spent since.
        allowed = (run.deadline_at - run.created_at).total_seconds() if run.deadline_at else None
        time_left = None if allowed is None else allowed - (time.monotonic() - submitted)
        return self.run(run, time_left_s=time_left, started_by=owner)

    def _timeout_ms(self, request: LLMRequest) -> int:
        return request.timeout_ms or self.orchestrator.config.default_timeout_ms

    def _fields(
        self, user: Any, request: LLMRequest, idempotency_key: str | None, background: bool
    ) -> dict[str, Any]:
        return {
            "owner": user,
            "feature": request.feature,
            "operation": request.operation,
            "mode": request.execution_mode or self.orchestrator.config.default_execution_mode,
            "requested_model": request.model_id or self.orchestrator.config.default_model,
            "request_data": request.data,
            "request_options": request.options.model_dump(mode="json", exclude_defaults=True),
            "timeout_ms": request.timeout_ms,
            "idempotency_key": idempotency_key,
            "request_hash": request_hash(request),
            "background": background,
            "trace_context": observability.trace_carrier() if background else {},
        }

    # -- running ---------------------------------------------------------------------
    def run(
        self,
        run: Run,
        *,
        stop: threading.Event | None = None,
        time_left_s: float | None = None,
        started_by: str | None = None,
    ) -> Run:
        """Take ``run``'s lease and run it in this process; the stored run afterwards.
        Raises the run's typed error if it failed here. ``stop``: set when the process
        must stop (a signal): the run is handed back at its next safe point.
        ``time_left_s``: what is left of the deadline of a run just submitted here.
        ``started_by``: the owner ``submit`` recorded it running for (no claim needed)."""
        owner = started_by or worker_identity()
        lease: Lease | None = None
        outcome: errors.LLMOrchestratorError | None = None
        written = False
        try:
            if started_by is not None:
                lease = Lease.adopt(run.pk, owner, time_left_s)
            else:
                lease = Lease.claim(run.pk, owner, time_left_s=time_left_s)
            if lease is None:  # someone else has it, it was cancelled, or its time is up
                return self._not_started(run)
            held = lease
            # One node: its progress would be written just before the outcome.
            multi_node = (run.mode or self.orchestrator.config.default_execution_mode) != (
                "monolithic"
            )
            response = self.orchestrator.execute(
                self.stored_request(run, time_left_s=lease.time_left_s),
                run_id=str(run.run_id),
                on_node=(lambda node: self._progress(held, node)) if multi_node else None,
                interrupt=lambda: self._interrupt(held, stop),
            )
        except ProcessStoppingError:
            # Wherever it struck (the claim included), the run goes back to the queue;
            # the task that was running it enqueues it again.
            if (lease or Lease(run.pk, owner)).hand_back():
                observability.handed_back(str(run.run_id))
            raise
        except RunCancelledError:
            if lease is not None:
                lease.release()  # cancelled or taken over: the outcome is not ours
            return Run.objects.get(pk=run.pk)
        except Exception as exc:
            if lease is None:
                raise
            outcome = _typed(exc)
            if lease.lost.is_set():
                lease.release()  # cancelled or taken over: the outcome is not ours
            elif lease.finish(status=Run.Status.FAILED, error=outcome.to_dict()):
                written = True
        except BaseException:  # Ctrl-C, SystemExit: the run is cancelled, then let through
            if lease is not None:
                lease.finish(status=Run.Status.CANCELLED, error=_cancelled(run).to_dict())
            raise
        else:
            metadata = response.metadata
            outcome_fields = {
                "status": Run.Status.DEGRADED if metadata.degraded else Run.Status.SUCCEEDED,
                "results": response.results,
                "metadata": metadata.model_dump(mode="json"),
                "resolved_models": metadata.models_used,
            }
            if held.finish(**outcome_fields):
                return _as_finished(run, outcome_fields)
        if written and outcome is not None:
            raise outcome  # stored as failed, by this process
        stored = Run.objects.get(pk=run.pk)
        if outcome is not None and stored.status == Run.Status.FAILED:
            raise outcome
        return stored

    @staticmethod
    def _not_started(run: Run) -> Run:
        stored = Run.objects.get(pk=run.pk)
        if stored.status == Run.Status.FAILED and stored.error:
            raise errors.LLMOrchestratorError.from_dict(stored.error)
        return stored

    def _progress(self, lease: Lease, node: dict[str, Any]) -> None:
        if lease.lost.is_set():
            raise RunCancelledError(str(lease.run_id))
        lease.record_progress(node)

    @staticmethod
    def _interrupt(lease: Lease, stop: threading.Event | None) -> None:
        """A safe point: stop here if the run was cancelled (or taken over), or if its
        process is stopping (then it is handed back, never cancelled)."""
        if lease.lost.is_set():
            raise RunCancelledError(str(lease.run_id))
        if stop is not None and stop.is_set():
            raise ProcessStoppingError("the process is stopping")

    @staticmethod
    def stored_request(run: Run, time_left_s: float | None = None) -> LLMRequest:
        """The request ``run`` recorded; with ``time_left_s``, its timeout is what is left
        of the run's deadline (an attempt after a hand-back gets no fresh deadline)."""
        timeout_ms = run.timeout_ms
        if time_left_s is not None:
            timeout_ms = max(1, math.floor(time_left_s * 1000))
        return LLMRequest(
            feature=run.feature,
            operation=run.operation,
            data=run.request_data,
            model_id=run.requested_model or None,
            execution_mode=run.mode or None,
            timeout_ms=timeout_ms,
            options=run.request_options,
        )

    # -- cancelling ------------------------------------------------------------------
    @staticmethod
    def cancel(run: Run) -> Run:
        """Cancel a queued or running run (its process stops at its next node and writes
        nothing); a finished run is left as it is."""
        cancelled = Run.objects.filter(pk=run.pk, status__in=Run.ACTIVE).update(
            status=Run.Status.CANCELLED,
            lease_owner="",
            lease_expires_at=None,
            finished_at=Now(),
            error=_cancelled(run).to_dict(),
        )
        if cancelled:
            observability.cancelled(str(run.run_id))
        return Run.objects.get(pk=run.pk)


def _cancelled(run: Run) -> errors.LLMOrchestratorError:
    return errors.InvalidRequestError(
        "The run was cancelled.", run_id=str(run.run_id), cancelled=True
    )


class _OncePerProcess:
    """The run service, built once even when the first requests arrive together (with a
    bare ``lru_cache`` each racing thread builds its own, with its own clients)."""

    def __init__(self, build: Callable[[], RunService]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._service: RunService | None = None
        functools.update_wrapper(self, build)

    def __call__(self) -> RunService:
        with self._lock:
            if self._service is None:
                self._service = self._build()
            return self._service

    def cache_clear(self) -> None:
        with self._lock:
            self._service = None


@_OncePerProcess
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
