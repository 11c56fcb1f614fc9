"""The background task that runs a recorded run, on Django's tasks framework.

The ``django-tasks`` backport of ``django.tasks``, with the ORM backend
(``django_tasks_db``) by default: workers start with ``python manage.py db_worker`` and
share the database, on any number of machines. Another backend (Celery, RQ, ...) is a
``TASKS`` setting away; the run service does not change.
"""

from __future__ import annotations

from django_tasks import task

from .models import Run
from .runs import get_run_service, recover_runs_now_and_then

__all__ = ["execute_run"]


@task()
def execute_run(run_id: str) -> str:
    """Run the stored run ``run_id`` (if it is still queued, or its lease expired) and
    return its final status."""

    recover_runs_now_and_then()  # runs whose worker died are taken over here too
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    try:
        return get_run_service().run(run).status
    except Exception:
        # The typed error is stored with the run; the task itself did its job.
        return Run.Status.FAILED
