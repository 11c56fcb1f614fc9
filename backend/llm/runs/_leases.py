"""Leases on runs: who runs a run, until when, and what happens when they stop.

Every state change is one short conditional ``UPDATE`` (its own transaction), so two
processes can never both own a run, and an outcome is written only by the lease holder
still holding it (a cancelled or taken-over run ignores a late finisher).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import DatabaseError, InterfaceError, OperationalError, connection
from django.db.models import F, Q, QuerySet
from django.db.models.functions import Now

from .. import exceptions as errors
from .._dbtime import now_plus
from ..models import Run
from ._keeper import keeper

__all__ = [
    "Lease",
    "fail_past_deadline",
    "lease_seconds",
    "max_run_attempts",
    "past_deadline",
    "running",
    "worker_identity",
]


def lease_seconds() -> float:
    """``LLM_RUN_LEASE_SECONDS``: how long a run is held without a renewal (default 30;
    renewed every third of it). A run whose holder died is recovered after this long."""
    return float(getattr(settings, "LLM_RUN_LEASE_SECONDS", 30.0))


def max_run_attempts() -> int:
    """``LLM_RUN_MAX_ATTEMPTS``: processes that may start a background run (default 3)."""
    return int(getattr(settings, "LLM_RUN_MAX_ATTEMPTS", 3))


def worker_identity() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _takeable() -> Q:
    """Queued, or running with an expired lease and attempts left (a synchronous run has
    one); past them, recovery fails it as worker_lost."""
    lapsed = Q(status=Run.Status.RUNNING, lease_expires_at__lt=Now())
    attempts_left = Q(background=True, attempts__lt=max_run_attempts()) | Q(
        background=False, attempts__lt=1
    )
    return Q(status=Run.Status.QUEUED) | lapsed & attempts_left


def past_deadline() -> Q:
    """Runs nobody is running whose deadline has passed: they are never started again."""
    idle = Q(status=Run.Status.QUEUED) | Q(status=Run.Status.RUNNING, lease_expires_at__lt=Now())
    return idle & Q(deadline_at__lt=Now())


def fail_past_deadline(runs: QuerySet[Run]) -> list[Run]:
    """Fail every run of ``runs`` that is past its deadline with a ``TimeoutError``
    (504); the runs this call failed."""
    failed = []
    for run in runs.filter(past_deadline())[:100]:
        error = errors.TimeoutError(
            "The run passed its deadline before it could finish"
            + (" (waiting in the queue)." if run.status == Run.Status.QUEUED else "."),
            run_id=str(run.run_id),
            timeout_ms=run.timeout_ms,
            attempts=run.attempts,
            suggestion="Raise timeout_ms, or add workers if runs wait in the queue.",
        ).to_dict()
        if (
            Run.objects.filter(pk=run.pk)
            .filter(past_deadline())
            .update(
                status=Run.Status.FAILED,
                error=error,
                lease_owner="",
                lease_expires_at=None,
                finished_at=Now(),
            )
        ):
            failed.append(run)
    return failed


def running(owner: str) -> dict[str, Any]:
    """The fields of a run that ``owner`` has just started (and holds the lease on)."""
    return {
        "status": Run.Status.RUNNING,
        "lease_owner": owner,
        "lease_expires_at": now_plus(timedelta(seconds=lease_seconds())),
        "started_at": Now(),
    }


class Lease:
    """The right to run one run, renewed in the background (by this process's one
    keeper thread) until ``release``.

    ``lost`` is set when a renewal finds the run no longer ours (cancelled, or taken
    over after we stalled): the holder should stop and write nothing. ``time_left_s`` is
    what remains of the run's deadline when it was claimed (None: no deadline).
    """

    def __init__(self, run_id: Any, owner: str) -> None:
        self.run_id, self.owner = run_id, owner
        self.time_left_s: float | None = None
        self._deadline: float | None = None  # the run's deadline, on this process's monotonic clock
        self.lost = threading.Event()
        self.progress: list[dict[str, Any]] = []
        self._stop = threading.Event()

    def _held(self) -> Any:
        return Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING, lease_owner=self.owner)

    @classmethod
    def claim(
        cls, run_id: Any, owner: str | None = None, *, time_left_s: float | None = None
    ) -> Lease | None:
        """Start ``run_id`` if it is queued (or running with an expired lease and attempts
        left) and inside its deadline: status ``running``, one more attempt, the lease
        ours. None if someone else has it, or it is finished or cancelled; a run past its
        deadline is failed with a ``TimeoutError`` instead of started. ``time_left_s``:
        for a run this process has just submitted, what is left of its deadline (then
        only a queued run is taken, and the deadline is not read back)."""
        lease = cls(run_id, owner or worker_identity())
        run = Run.objects.filter(pk=run_id)
        if time_left_s is not None and time_left_s > 0:
            takeable = run.filter(status=Run.Status.QUEUED)
        else:
            takeable = run.filter(_takeable()).exclude(deadline_at__lte=Now())
        claimed = takeable.update(**running(lease.owner), attempts=F("attempts") + 1, progress=[])
        if not claimed:
            fail_past_deadline(run)
            return None
        if time_left_s is None:
            deadline, now = run.annotate(db_now=Now()).values_list("deadline_at", "db_now").get()
            if deadline is not None:
                time_left_s = (deadline - now).total_seconds()
        lease._hold(time_left_s)
        return lease

    @classmethod
    def adopt(cls, run_id: Any, owner: str, time_left_s: float | None) -> Lease:
        """The lease on a run this process has just inserted already running with
        ``running(owner)`` and one attempt: nothing left to claim."""
        lease = cls(run_id, owner)
        lease._hold(time_left_s)
        return lease

    def _hold(self, time_left_s: float | None) -> None:
        if time_left_s is not None:
            self.time_left_s = max(0.0, time_left_s)
            self._deadline = time.monotonic() + self.time_left_s
        keeper.keep(self, lease_seconds() / 3)

    def renew(self) -> float | None:
        """Extend the lease once (the keeper's call); seconds until the next renewal, or
        None to stop: the run is no longer ours (``lost``), or it is past its deadline."""
        period = lease_seconds() / 3
        if self._deadline is not None and time.monotonic() > self._deadline + period:
            # Past the run's deadline a holder that still runs is stuck (a call that
            # ignores its timeout): the lease lapses, and recovery fails the run with a
            # timeout instead of leaving it running for ever.
            return None
        try:
            expires = now_plus(timedelta(seconds=lease_seconds()))
            if not self._held().update(lease_expires_at=expires):
                if not self._stop.is_set():
                    self.lost.set()  # another process has the run: it is not ours
                return None
        except DatabaseError:
            # A locked or unreachable database loses nothing: nobody else can take the
            # run over without writing either, and whether it was taken over is known
            # at the first renewal (or outcome) that gets through.
            connection.close()
            return min(period, 1.0)
        return period

    def record_progress(self, node: dict[str, Any]) -> None:
        """Append a finished node's summary, visible while the run is running. Best
        effort: a write the database refuses now is carried by the next one (a run is
        never failed for its progress report)."""
        keys = ("node", "model_id", "duration_ms", "status", "attempts")
        self.progress.append({key: node.get(key) for key in keys})
        try:
            self._held().update(progress=self.progress)
        except DatabaseError:
            connection.close()

    def finish(self, **fields: Any) -> bool:
        """Write the outcome if the run is still ours; False if it is not (then nothing
        is written: it was cancelled or taken over). A write the database refuses (locked,
        restarting) is tried again until the run's deadline, and at least a lease: a
        finished answer is not thrown away for a wait. The lease is renewed meanwhile."""
        give_up = max(time.monotonic() + lease_seconds(), self._deadline or 0.0)
        try:
            while True:
                try:
                    return bool(
                        self._held().update(
                            lease_owner="", lease_expires_at=None, finished_at=Now(), **fields
                        )
                    )
                except (OperationalError, InterfaceError):
                    # Locked, restarting, unreachable: worth waiting for. Anything else
                    # (the data itself refused) fails the same way every time.
                    if time.monotonic() >= give_up:
                        raise
                    connection.close()
                    time.sleep(0.5)
        finally:
            self.release()

    def hand_back(self) -> bool:
        """Put the run back in the queue (this process is stopping); False if it is no
        longer ours. The attempt does not count: it was not the run's fault."""
        self.release()
        return bool(
            self._held().update(
                status=Run.Status.QUEUED,
                lease_owner="",
                lease_expires_at=None,
                attempts=F("attempts") - 1,
                # Until it is enqueued again it has no task: the orphan sweep's to take
                # if this process dies first (a second SIGTERM).
                task_id="",
            )
        )

    def release(self) -> None:
        self._stop.set()
        keeper.drop(self)
