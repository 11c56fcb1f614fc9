"""A database whose write lock another connection holds (SQLite: one writer at a time;
``BEGIN IMMEDIATE`` by a backup, a migration, a stuck process): reads go on, and no
finished answer is thrown away for a write that had to wait."""

from __future__ import annotations

import sqlite3
import threading
import time
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings

from backend.llm.models import ThrottleCount
from tests.test_api import EXECUTE, client_for, make_user

pytestmark = pytest.mark.django_db(transaction=True)

sqlite_only = pytest.mark.skipif(
    connection.vendor != "sqlite", reason="a write lock that blocks every writer is SQLite's"
)


@pytest.fixture(autouse=True)
def fake_model(fake_run_service: None) -> None:
    from django.core.cache import cache

    cache.clear()  # throttle counts


class WriteLock:
    """Another connection that holds the database's write lock until released."""

    def __init__(self) -> None:
        self._connection = sqlite3.connect(
            connection.settings_dict["NAME"], timeout=30, check_same_thread=False
        )
        self._connection.execute("BEGIN IMMEDIATE")

    def release(self) -> None:
        self._connection.rollback()
        self._connection.close()

    def release_after(self, seconds: float) -> threading.Thread:
        def later() -> None:
            time.sleep(seconds)
            self.release()

        thread = threading.Thread(target=later, daemon=True)
        thread.start()
        return thread


def _rates(**rates: str) -> Any:
    from rest_framework.settings import api_settings

    return override_settings(
        REST_FRAMEWORK={**api_settings.user_settings, "DEFAULT_THROTTLE_RATES": rates}
    )


def test_reads_are_throttled_without_writing_to_the_database():
    alice = client_for(make_user("reader"))
    with _rates(user="3/day", llm_execute="100/day"):
        codes = [alice.get("/api/llm/runs/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert not ThrottleCount.objects.exists()


def test_runs_are_counted_in_the_database_every_process_shares():
    alice = client_for(make_user("writer"))
    with _rates(user="100/day", llm_execute="2/day"):
        codes = [alice.post("/api/llm/execute/", EXECUTE, format="json").status_code for _ in "abc"]
    assert codes == [200, 200, 429]
    assert ThrottleCount.objects.filter(key__startswith="llm_execute:").get().count == 3


@sqlite_only
def test_reads_go_on_while_another_connection_holds_the_write_lock():
    alice = client_for(make_user("patient"))
    run_id = alice.post("/api/llm/execute/", EXECUTE, format="json").json()["run_id"]
    lock = WriteLock()
    try:
        listing = alice.get("/api/llm/runs/")
        detail = alice.get(f"/api/llm/runs/{run_id}/")
    finally:
        lock.release()
    assert (listing.status_code, detail.status_code) == (200, 200)


def _worker(*args: str, delay_s: float = 0.0) -> Any:
    from tests.test_background_runs import start_worker

    # A busy timeout of 1 s: the lock outlasts it, as a 30 s one outlasts the default.
    return start_worker(*args, delay_s=delay_s, SQLITE_BUSY_TIMEOUT_S="1")


@sqlite_only
@pytest.mark.processes
def test_an_idle_worker_waits_out_a_locked_database_and_then_serves_the_queue():
    from backend.llm.models import Run
    from tests.test_background_runs import status_of, stop, submit, wait_for

    worker = _worker()
    try:
        time.sleep(2)  # polling the queue, idle
        lock = WriteLock()
        lock.release_after(4).join()  # four busy timeouts
        assert worker.poll() is None, stop(worker)
        run_id = submit(client_for(make_user("after-lock"))).json()["run_id"]
        wait_for(lambda: status_of(run_id) == Run.Status.SUCCEEDED)
    finally:
        output = stop(worker)
    assert "database is locked" not in output.lower().replace("the database is locked;", "")


@sqlite_only
@pytest.mark.processes
def test_an_answer_that_arrives_while_the_database_is_locked_is_kept():
    """The model answers while another connection holds the lock for longer than the
    worker's busy timeout: the run's progress and outcome writes wait, nothing is re-run."""
    from backend.llm.models import Run
    from tests.test_background_runs import status_of, stop, submit, wait_for

    run_id = submit(client_for(make_user("locked-answer"))).json()["run_id"]
    worker = _worker(delay_s=2.0)
    try:
        wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
        lock = WriteLock()
        lock.release_after(5).join()  # the answer came at 2 s
        wait_for(lambda: status_of(run_id) != Run.Status.RUNNING)
    finally:
        stop(worker)
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.attempts) == (Run.Status.SUCCEEDED, 1), run.error
