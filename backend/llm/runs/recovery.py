"""Recovery: no run stays ``running`` once its process is gone, and none stays
``queued`` on a task nobody will run. Every time compared is the database's."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db.models.functions import Now

from .. import exceptions as errors
from .. import observability
from .._dbtime import now_plus
from .._every import AtMostEvery
from ..models import Run
from . import queue
from ._leases import fail_past_deadline, lease_seconds, max_run_attempts

__all__ = ["recover_runs", "recover_runs_now_and_then"]


def _worker_lost(run: Run, what: str) -> dict[str, Any]:
    """The stored error of a run whose process stopped: ``what`` says when."""
    return errors.AgentFailureError(
        what, run_id=str(run.run_id), reason="worker_lost", suggestion="Submit the request again."
    ).to_dict()


# A lapsed lease cannot be noticed sooner than a third of a lease anyway.
_recovery = AtMostEvery(lambda: lease_seconds() / 3, lambda: recover_runs())


def recover_runs_now_and_then() -> None:
    """``recover_runs`` at most once per third of a lease in this process (a worker calls
    it before every run, the API on reads of runs)."""
    _recovery()


def recover_runs() -> int:
    """Runs whose process died: a run past its deadline fails with a ``TimeoutError``; a
    running run whose lease expired is queued again (a background run with attempts left)
    or failed with a typed error that says why; a queued background run that never
    reached the queue is enqueued. Cheap when there is nothing to do; called by workers,
    on reads of runs, and ``manage.py llm recover``. Every time is the database's."""
    timed_out = fail_past_deadline(Run.objects.all())
    for run in timed_out:
        queue.abandon_task(run.task_id)
    recovered = len(timed_out)
    lapsed = Run.objects.filter(status=Run.Status.RUNNING, lease_expires_at__lt=Now())
    for run in lapsed[:100]:
        expired = lapsed.filter(pk=run.pk)
        if run.background and run.attempts < max_run_attempts():
            # The old task id goes in the same UPDATE: if this process dies before the
            # enqueue below, the run is a queued run without a task, which the orphan
            # sweep enqueues, never a queued run that waits on a dead task for ever.
            requeued = expired.update(
                status=Run.Status.QUEUED, lease_owner="", lease_expires_at=None, task_id=""
            )
            if requeued:
                observability.lease_lapsed(str(run.run_id), "requeued", run.attempts)
                queue.abandon_task(run.task_id)
                queue.enqueue(run)
                recovered += 1
            continue
        error = _worker_lost(
            run,
            f"The process running this run stopped (attempt {run.attempts} of "
            f"{max_run_attempts() if run.background else 1}).",
        )
        if expired.update(
            status=Run.Status.FAILED,
            error=error,
            lease_owner="",
            lease_expires_at=None,
            finished_at=Now(),
        ):
            observability.lease_lapsed(str(run.run_id), "failed", run.attempts)
            queue.abandon_task(run.task_id)
            recovered += 1
    cutoff = now_plus(-timedelta(seconds=lease_seconds()))
    recovered += _requeue_runs_of_dead_tasks(cutoff)
    recovered += _fail_unstarted_synchronous_runs(cutoff)
    orphans = Run.objects.filter(
        status=Run.Status.QUEUED, background=True, task_id="", created_at__lt=cutoff
    )[:100]
    for run in orphans:
        queue.enqueue(run)
        recovered += 1
    return recovered


def _requeue_runs_of_dead_tasks(cutoff: Any) -> int:
    """Queued background runs whose task a worker took and then died with, before it
    could start the run: their task id is cleared (for the orphan sweep to enqueue)."""
    waiting = list(
        Run.objects.filter(status=Run.Status.QUEUED, background=True, created_at__lt=cutoff)
        .exclude(task_id="")
        .values_list("pk", "task_id")[:100]
    )
    dead = queue.dead_task_ids([task_id for _, task_id in waiting], started_before=cutoff)
    cleared = 0
    for pk, task_id in waiting:
        if task_id in dead and Run.objects.filter(
            pk=pk, status=Run.Status.QUEUED, task_id=task_id
        ).update(task_id=""):
            queue.abandon_task(task_id)
            cleared += 1
    return cleared


def _fail_unstarted_synchronous_runs(cutoff: Any) -> int:
    """A synchronous run is started by its own request at once; one still queued after a
    lease never will be (its process died, or its claim failed): it fails, typed."""
    failed = 0
    for run in Run.objects.filter(
        status=Run.Status.QUEUED, background=False, created_at__lt=cutoff
    )[:100]:
        error = _worker_lost(run, "The process that received this run stopped before starting it.")
        failed += Run.objects.filter(pk=run.pk, status=Run.Status.QUEUED).update(
            status=Run.Status.FAILED, error=error, finished_at=Now()
        )
    return failed
