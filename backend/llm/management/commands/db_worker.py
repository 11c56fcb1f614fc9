"""``manage.py db_worker``: django-tasks-db's worker, which waits out a locked database.

The original exits when SQLite stays locked past its busy timeout outside the one query
it guards (a backup or a long write elsewhere), leaving the queue unserved until someone
restarts it. This one starts its loop again after a pause, as its own docs intend
("It should unlock eventually"); any other error still ends it.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.db import OperationalError, connections
from django_tasks_db.management.commands import db_worker
from django_tasks_db.utils import is_locked_database_exception

logger = logging.getLogger("backend.llm.runs.worker")

#: Seconds between tries while the database stays locked.
LOCKED_PAUSE_S = 1.0


class Command(db_worker.Command):
    help = db_worker.Command.help + ", waiting out a locked database"

    def handle(self, **options: Any) -> None:
        while True:
            try:
                super().handle(**options)
                return
            except OperationalError as exc:
                if not is_locked_database_exception(exc):
                    raise
                logger.warning("The database is locked; the worker tries again shortly.")
                connections.close_all()
                time.sleep(LOCKED_PAUSE_S)
