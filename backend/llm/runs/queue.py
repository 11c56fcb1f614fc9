"""The run lifecycle's one seam to the task queue: hand a run to it, give up a task,
find tasks that will never run, prune finished ones.

Django's tasks framework (the ``django-tasks`` backport of ``django.tasks``) with the ORM
backend (``django_tasks_db``) by default: workers start with ``python manage.py
db_worker`` and share the database, on any number of machines. Another backend (Celery,
RQ, ...) is a ``TASKS`` setting away; the functions below that read the ORM backend's
rows then do nothing (that backend tracks its own tasks), and the run service does not
change. The task itself (``worker.execute_run``) is reached by name, so the queue never
imports the code that runs on it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db.models import Q
from django.db.models.functions import Now
from django.utils.module_loading import import_string

from .._dbtime import now_plus
from ..models import Run

if TYPE_CHECKING:
    from django_tasks.base import Task

__all__ = ["RUN_TASK", "abandon_task", "dead_task_ids", "enqueue", "prune_finished_tasks"]

#: The task that runs a stored run, by name.
RUN_TASK = "backend.llm.runs.worker.execute_run"


def enqueue(run: Run) -> None:
    """Hand ``run`` to the task queue and note the task."""
    task: Task[[str], str] = import_string(RUN_TASK)
    result = task.enqueue(str(run.run_id))
    Run.objects.filter(pk=run.pk).update(task_id=str(result.id)[:64])


def _orm_results() -> Any:
    """The ORM backend's task rows, or None under another tasks backend."""
    try:
        from django_tasks_db.models import DBTaskResult
    except ImportError:
        return None
    return DBTaskResult


def abandon_task(task_id: str) -> None:
    """The task of a run whose worker died: the ORM backend would show it ``RUNNING``
    for ever, so it is marked failed (the run itself is recovered by the run service).
    Other backends track their own tasks."""
    results = _orm_results()
    if not task_id or results is None:
        return
    results.objects.filter(pk=task_id, status="RUNNING").update(status="FAILED", finished_at=Now())


def dead_task_ids(task_ids: list[str], started_before: Any) -> set[str]:
    """Of ``task_ids`` (tasks of runs still queued), those no worker will run: taken by a
    worker before ``started_before`` (it would have started its run by now), finished, or
    gone. A task still waiting in the queue is alive, however long it waits. Other
    backends track their own tasks: none is known dead. (The ORM backend writes a task's
    ``started_at`` from its worker's clock: a worker clock behind by more than a lease
    makes its tasks look dead early; the run's own claim still decides who runs it.)"""
    results = _orm_results()
    if results is None:
        return set()
    ids = [task_id for task_id in task_ids if task_id]
    alive = results.objects.filter(pk__in=ids).filter(
        Q(status="READY") | Q(status="RUNNING", started_at__gte=started_before)
    )
    return set(ids) - {str(pk) for pk in alive.values_list("pk", flat=True)}


def prune_finished_tasks(retention_days: float | None = None) -> int:
    """Delete finished task rows older than ``LLM_TASK_RETENTION_DAYS`` (default 14, as
    django-tasks' own ``prune_db_task_results``); the runs keep their outcome."""
    results = _orm_results()
    if results is None:
        return 0
    days = (
        retention_days
        if retention_days is not None
        else float(getattr(settings, "LLM_TASK_RETENTION_DAYS", 14))
    )
    cutoff = now_plus(-timedelta(days=days))
    deleted, _ = results.objects.finished().filter(finished_at__lte=cutoff).delete()
    return int(deleted)
