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
from django.db import DatabaseError, connection
from django.db.models import F, Q
from django.utils import timezone

from .models import Run

__all__ = ["Lease", "lease_seconds", "max_run_attempts", "worker_identity"]


def lease_seconds() -> float:
    """``LLM_RUN_LEASE_SECONDS``: how long a run is held without a renewal (default 30;
    renewed every third of it). A run whose holder died is recovered after this long."""
    return float(getattr(settings, "LLM_RUN_LEASE_SECONDS", 30.0))


def max_run_attempts() -> int:
    """``LLM_RUN_MAX_ATTEMPTS``: processes that may start a background run (default 3)."""
    return int(getattr(settings, "LLM_RUN_MAX_ATTEMPTS", 3))


def worker_identity() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


class Lease:
    """The right to run one run, renewed in the background until ``release``.

    ``lost`` is set when a renewal finds the run no longer ours (cancelled, or taken
    over after we stalled): the holder should stop and write nothing.
    """

    def __init__(self, run_id: Any, owner: str) -> None:
        self.run_id, self.owner = run_id, owner
        self.lost = threading.Event()
        self.progress: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def _held(self) -> Any:
        return Run.objects.filter(pk=self.run_id, status=Run.Status.RUNNING, lease_owner=self.owner)

    @classmethod
    def claim(cls, run_id: Any, owner: str | None = None) -> Lease | None:
        """Start ``run_id`` if it is queued (or running with an expired lease): status
        ``running``, one more attempt, the lease ours. None if someone else has it, or it
        is finished or cancelled."""
        lease = cls(run_id, owner or worker_identity())
        now = timezone.now()
        claimed = (
            Run.objects.filter(pk=run_id)
            .filter(
                Q(status=Run.Status.QUEUED)
                # A lapsed run is taken over only while it has attempts left (a synchronous
                # run has one); past them, recovery fails it as worker_lost.
                | Q(status=Run.Status.RUNNING, lease_expires_at__lt=now)
                & (
                    Q(background=True, attempts__lt=max_run_attempts())
                    | Q(background=False, attempts__lt=1)
                )
            )
            .update(
                status=Run.Status.RUNNING,
                lease_owner=lease.owner,
                lease_expires_at=now + timedelta(seconds=lease_seconds()),
                attempts=F("attempts") + 1,
                started_at=now,
                progress=[],
            )
        )
        if not claimed:
            return None
        lease._start_renewing()
        return lease

    def _start_renewing(self) -> None:
        self._renewer = threading.Thread(
            target=self._renew_until_released, name=f"lease-{self.run_id}", daemon=True
        )
        self._renewer.start()

    def _renew_until_released(self) -> None:
        period = lease_seconds() / 3
        renewed = time.monotonic()
        wait = period
        try:
            while not self._stop.wait(wait):
                try:
                    expires = timezone.now() + timedelta(seconds=lease_seconds())
                    if not self._held().update(lease_expires_at=expires):
                        self.lost.set()  # another process has the run: it is not ours
                        return
                    renewed, wait = time.monotonic(), period
                except DatabaseError:
                    # A hiccup (a locked or restarting database) loses nothing yet: the
                    # lease holds until it expires, so keep trying until then, sooner.
                    connection.close()
                    if time.monotonic() - renewed >= lease_seconds():
                        self.lost.set()
                        return
                    wait = min(period, 1.0)
        finally:
            connection.close()  # this thread's own connection

    def record_progress(self, node: dict[str, Any]) -> None:
        """Append a finished node's summary, visible while the run is running."""
        keys = ("node", "model_id", "duration_ms", "status", "attempts")
        self.progress.append({key: node.get(key) for key in keys})
        self._held().update(progress=self.progress)

    def finish(self, **fields: Any) -> bool:
        """Write the outcome if the run is still ours; False if it is not (then nothing
        is written: it was cancelled or taken over). The lease is renewed until the outcome
        is written: a slow write (a locked database) must not let it lapse first."""
        try:
            return bool(
                self._held().update(
                    lease_owner="", lease_expires_at=None, finished_at=timezone.now(), **fields
                )
            )
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
        if self._renewer is not None and self._renewer is not threading.current_thread():
            self._renewer.join(timeout=10)
