"""The background task that runs a recorded run (``queue.RUN_TASK``), and what a worker
does in passing: recovery, pruning, and stopping cleanly on a signal."""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType
from typing import Any

from django.db import DatabaseError, connection
from django_tasks import task

from .. import observability
from .._every import AtMostEvery
from ..models import Run
from . import queue
from .recovery import recover_runs_now_and_then
from .service import ProcessStoppingError, get_run_service

__all__ = ["execute_run"]

logger = logging.getLogger(__name__)


@task()
def execute_run(run_id: str) -> str:
    """Run the stored run ``run_id`` (if it is still queued, or its lease expired) and
    return its final status."""

    _housekeeping()
    run = Run.objects.filter(pk=run_id).first()
    if run is None:
        return "missing"
    try:
        with (
            observability.continued_trace(run.trace_context, "llm.task", **{"llm.run_id": run_id}),
            _stop_on_signal() as stopping,
        ):
            return get_run_service().run(run, stop=stopping).status
    except ProcessStoppingError:
        # Handed back (or never started): queued again for another worker. A second task
        # for a run already taken is harmless: claiming it fails.
        if Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).exists():
            queue.enqueue(run)
        return "handed back"
    except Exception:
        # The typed error is stored with the run; the task itself did its job.
        return Run.Status.FAILED


PRUNE_EVERY_S = 3600.0
# Workers prune old finished task rows in passing, once an hour each (the ORM backend
# keeps every row for ever otherwise).
_prune_now_and_then = AtMostEvery(lambda: PRUNE_EVERY_S, lambda: queue.prune_finished_tasks())


def _housekeeping() -> None:
    """Recovery of runs whose worker died, and pruning, in passing. A database that
    refuses them now (locked, restarting) does not cost this task its run: the next task
    does them."""
    try:
        recover_runs_now_and_then()
        _prune_now_and_then()
    except DatabaseError:
        logger.warning("Housekeeping skipped: the database refused it.", exc_info=True)
        connection.close()


#: The signals db_worker stops on (SIGQUIT too, where there is one).
_STOP_SIGNALS = tuple(
    getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGQUIT") if hasattr(signal, name)
)


class _Stopping:
    """What a worker's SIGTERM or SIGINT does while it runs a run.

    The first signal tells the worker to take no more tasks (its own handler) and stops
    the run to hand it back: at once, unless the main thread is inside a database call
    (a signal there could leave the connection unusable for the hand-back): then right
    after that call. Threads of the run (agents in parallel) stop at their next safe point
    (``event``). Later signals only repeat that: a second Ctrl-C must not turn a user's
    run into a cancelled one (the worker's own handler would exit at once).
    """

    def __init__(self, previous: dict[signal.Signals, Any]) -> None:
        self.previous = previous
        self.event = threading.Event()
        self.in_database = 0
        self.deferred = False

    def handle(self, signum: int, frame: FrameType | None) -> Any:
        if self.event.is_set():
            return
        self.event.set()
        handler = self.previous[signal.Signals(signum)]
        if callable(handler):
            # A worker told to stop before this run began (a signal during its set-up)
            # exits on its handler's second call: the run is handed back first, and the
            # worker, no longer running, stops after this task.
            with contextlib.suppress(SystemExit):
                handler(signum, frame)
            for sig in self.previous:  # that handler may have reset them to the default
                signal.signal(sig, self.handle)
        if self.in_database:
            self.deferred = True
            return
        raise ProcessStoppingError(signal.strsignal(signum))

    def around_queries(
        self, execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        self.in_database += 1
        try:
            return execute(sql, params, many, context)
        finally:
            self.in_database -= 1
            if self.deferred and not self.in_database:
                self.deferred = False
                raise ProcessStoppingError("stopping after a database call")


@contextlib.contextmanager
def _stop_on_signal() -> Iterator[threading.Event | None]:
    """SIGTERM or SIGINT while a run is in progress (``_Stopping``): the run is handed
    back instead of holding the shutdown for up to its whole deadline. Yields the event
    set once the process is stopping."""
    if threading.current_thread() is not threading.main_thread():
        yield None  # signals reach only the main thread: nothing to hook
        return
    stopping = _Stopping({sig: signal.getsignal(sig) for sig in _STOP_SIGNALS})
    for sig in stopping.previous:
        signal.signal(sig, stopping.handle)
    try:
        with connection.execute_wrapper(stopping.around_queries):
            yield stopping.event
    finally:
        for sig, handler in stopping.previous.items():
            signal.signal(sig, handler)
