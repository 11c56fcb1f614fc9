"""Background runs through Django's tasks framework: ``Prefer: respond-async``, real
``manage.py db_worker`` processes on the test database, progress, cancellation, and a
worker killed with SIGKILL in the middle of a run."""

from __future__ import annotations

import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import pytest
from django.db import connection
from django.test import override_settings
from django_tasks_db.models import DBTaskResult

from backend.llm.models import Run
from tests.api_support import VALID
from tests.environment import ROOT, user_environment
from tests.test_api import EXECUTE, client_for, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]

AGENTIC = {
    "feature": "pillars",
    "operation": "evaluate",
    "mode": "agentic",
    "data": {"pillars": [{"name": "Core", "description": "Puzzles"}] * 2},
}


@pytest.fixture(autouse=True)
def fake_model(fake_run_service: None) -> None:
    """Every test here runs on the fake orchestrator (``conftest.fake_run_service``)."""


def submit(client: Any, body: dict[str, Any] = EXECUTE, **headers: Any) -> Any:
    """POST ``body`` to run in the background (``Prefer: respond-async``)."""
    return client.post(
        "/api/llm/execute/", body, format="json", HTTP_PREFER="respond-async", **headers
    )


#: Workers started by the current test, stopped (and their pipes closed) after it.
WORKERS: list[subprocess.Popen[str]] = []


@pytest.fixture(autouse=True)
def _stop_workers() -> Iterator[None]:
    yield
    while WORKERS:
        stop(WORKERS.pop())


def start_worker(*args: str, delay_s: float = 0.0, **env: str) -> subprocess.Popen[str]:
    worker = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "db_worker",
            "--no-startup-delay",
            "--interval",
            "0.1",
            *args,
        ],
        cwd=ROOT,
        # A user's environment, but for the settings: the worker shares the test database
        # and answers with the test model.
        env=user_environment(
            DJANGO_SETTINGS_MODULE="tests.worker_settings",
            WORKER_DB_NAME=str(connection.settings_dict["NAME"]),
            WORKER_MODEL_DELAY_S=str(delay_s),
            **env,
        ),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    WORKERS.append(worker)
    return worker


def stop(worker: subprocess.Popen[str]) -> str:
    if worker.poll() is None:
        worker.kill()
    output, _ = worker.communicate(timeout=60)
    return output


def wait_for(condition: Callable[[], Any], timeout_s: float = 120.0) -> Any:
    """Poll ``condition`` until it returns something truthy (generous: a loaded machine)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.05)
    raise AssertionError("condition not met in time")


def status_of(run_id: str) -> str:
    return Run.objects.get(pk=run_id).status


def test_respond_async_queues_the_run_and_a_worker_runs_it():
    alice = client_for(make_user("alice"))
    response = submit(alice)
    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert body["results"] is None
    assert response["Location"] == f"/api/llm/runs/{body['run_id']}/"
    assert alice.get(response["Location"]).json()["status"] == "queued"  # no worker yet
    worker = start_worker("--batch")
    assert worker.wait(timeout=120) == 0, stop(worker)
    run = alice.get(response["Location"]).json()
    assert run["status"] == "succeeded"
    assert run["results"] == VALID
    assert run["attempts"] == 1
    assert run["background"] is True


def test_progress_shows_each_agent_as_it_finishes_then_the_run_succeeds():
    alice = client_for(make_user("alice"))
    run_id = submit(alice, AGENTIC).json()["run_id"]
    worker = start_worker("--batch", delay_s=0.7)
    try:
        seen = wait_for(
            lambda: (
                (run := alice.get(f"/api/llm/runs/{run_id}/").json())["status"] == "running"
                and run["progress"]
                and run
            )
        )
        assert {node["node"].removeprefix("agent:") for node in seen["progress"]} <= {
            "completeness",
            "contradictions",
            "context",
            "cross_check",
        }
        assert all(node["duration_ms"] > 0 for node in seen["progress"])
        assert worker.wait(timeout=120) == 0
    finally:
        output = stop(worker)
    run = alice.get(f"/api/llm/runs/{run_id}/").json()
    assert run["status"] == "succeeded", output
    finished = {node["node"].removeprefix("agent:") for node in run["progress"]}
    assert {"completeness", "contradictions"} <= finished  # no context given: skipped


def test_the_same_key_returns_the_queued_run_at_once():
    alice = client_for(make_user("alice"))
    first = submit(alice, HTTP_IDEMPOTENCY_KEY="k")
    again = alice.post("/api/llm/execute/", EXECUTE, format="json", HTTP_IDEMPOTENCY_KEY="k")
    assert again.status_code == 202  # still queued: no waiting, no second run
    assert again.json()["run_id"] == first.json()["run_id"]
    other = submit(alice, {**EXECUTE, "mode": "agentic"}, HTTP_IDEMPOTENCY_KEY="k")
    assert other.status_code == 409
    assert Run.objects.count() == 1


def test_a_cancelled_queued_run_is_never_run():
    alice = client_for(make_user("alice"))
    run_id = submit(alice).json()["run_id"]
    cancelled = alice.post(f"/api/llm/runs/{run_id}/cancel/")
    assert cancelled.status_code == 200
    assert cancelled.json()["status"] == "cancelled"
    worker = start_worker("--batch")
    assert worker.wait(timeout=120) == 0
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.CANCELLED
    assert run.attempts == 0
    assert client_for(make_user("bob")).post(f"/api/llm/runs/{run_id}/cancel/").status_code == 404


def test_a_running_run_is_cancelled_and_its_worker_writes_nothing_after():
    alice = client_for(make_user("alice"))
    run_id = submit(alice, AGENTIC).json()["run_id"]
    worker = start_worker("--batch", delay_s=1.0, LLM_RUN_LEASE_SECONDS="1.5")
    try:
        wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
        assert alice.post(f"/api/llm/runs/{run_id}/cancel/").json()["status"] == "cancelled"
        assert worker.wait(timeout=120) == 0
    finally:
        stop(worker)
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.CANCELLED
    assert run.results is None


def test_a_killed_workers_run_is_taken_over_by_another_worker():
    alice = client_for(make_user("alice"))
    run_id = submit(alice).json()["run_id"]
    first = start_worker(delay_s=30.0, LLM_RUN_LEASE_SECONDS="1")  # 30 s per call
    try:
        wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        stop(first)
    with override_settings(LLM_RUN_LEASE_SECONDS=1.0):
        # Reading the run after its lease lapsed hands it back to the queue.
        wait_for(lambda: alice.get(f"/api/llm/runs/{run_id}/").json()["status"] == "queued")
    second = start_worker("--batch", LLM_RUN_LEASE_SECONDS="1")
    assert second.wait(timeout=120) == 0, stop(second)
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.SUCCEEDED
    assert run.attempts == 2
    assert run.results == VALID
    assert not Run.objects.filter(status=Run.Status.RUNNING).exists()
    # The dead worker's task is not left "running" in the tasks backend either.
    statuses = sorted(DBTaskResult.objects.values_list("status", flat=True))
    assert statuses == ["FAILED", "SUCCESSFUL"]


def test_a_run_whose_workers_keep_dying_fails_with_a_typed_error():
    alice = client_for(make_user("alice"))
    run_id = submit(alice).json()["run_id"]
    worker = start_worker(delay_s=30.0, LLM_RUN_LEASE_SECONDS="1")
    try:
        wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        stop(worker)
    with override_settings(LLM_RUN_LEASE_SECONDS=1.0, LLM_RUN_MAX_ATTEMPTS=1):
        run = wait_for(
            lambda: (r := alice.get(f"/api/llm/runs/{run_id}/").json())["status"] == "failed" and r
        )
    assert run["error"]["code"] == "agent_failure"
    assert run["error"]["context"]["reason"] == "worker_lost"
    assert run["error"]["suggestion"]


def test_sigterm_hands_the_run_back_and_the_worker_stops_within_seconds():
    alice = client_for(make_user("alice"))
    run_id = submit(alice).json()["run_id"]
    worker = start_worker(delay_s=60.0)
    wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
    stopped_at = time.monotonic()
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=60)
    assert time.monotonic() - stopped_at < 10  # not the run's 60 s
    run = Run.objects.get(pk=run_id)
    assert run.status == Run.Status.QUEUED
    assert run.attempts == 0  # the hand-back does not count against the run
    second = start_worker("--batch")
    assert second.wait(timeout=120) == 0
    assert Run.objects.get(pk=run_id).status == Run.Status.SUCCEEDED


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("background", "attempts", "taken"),
    [(True, 2, True), (True, 3, False), (False, 0, True), (False, 1, False)],
)
def test_a_lapsed_run_is_taken_over_only_while_it_has_attempts_left(background, attempts, taken):
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from backend.llm.models import Run
    from backend.llm.runs._leases import Lease

    owner = get_user_model().objects.create_user(f"lapsed-{background}-{attempts}")
    run = Run.objects.create(
        owner=owner,
        feature="pillars",
        operation="validate",
        status=Run.Status.RUNNING,
        background=background,
        attempts=attempts,
        lease_owner="dead-worker",
        lease_expires_at=timezone.now() - timedelta(seconds=5),
    )
    lease = Lease.claim(run.pk, owner="new-worker")
    try:
        assert (lease is not None) is taken
        run.refresh_from_db()
        assert run.attempts == attempts + (1 if taken else 0)
        assert run.lease_owner == ("new-worker" if taken else "dead-worker")
    finally:
        if lease is not None:
            lease.release()


@pytest.mark.django_db
def test_recovery_that_dies_before_its_enqueue_leaves_a_run_the_next_sweep_enqueues(
    monkeypatch,
):
    """The interleaving that stranded runs: recovery requeues a lapsed run, then its
    process dies before ``enqueue``. The run must not wait for ever on its old task."""
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from backend.llm.models import Run
    from backend.llm.runs import queue as run_queue
    from backend.llm.runs import recover_runs

    past = timezone.now() - timedelta(minutes=10)
    run = Run.objects.create(
        owner=get_user_model().objects.create_user("stranded"),
        feature="pillars",
        operation="validate",
        status=Run.Status.RUNNING,
        background=True,
        attempts=1,
        task_id="6d5f1c1e-0000-4000-8000-000000000001",  # a task nobody runs any more
        lease_owner="dead-worker",
        lease_expires_at=past,
    )
    Run.objects.filter(pk=run.pk).update(created_at=past)

    def die(_run: Run) -> None:
        raise SystemExit("killed between the requeue and the enqueue")

    monkeypatch.setattr(run_queue, "enqueue", die)
    with pytest.raises(SystemExit):
        recover_runs()
    run.refresh_from_db()
    assert (run.status, run.task_id) == (Run.Status.QUEUED, "")

    enqueued: list[str] = []
    monkeypatch.setattr(run_queue, "enqueue", lambda r: enqueued.append(str(r.pk)))
    assert recover_runs() == 1
    assert enqueued == [str(run.pk)]


@pytest.mark.django_db
def test_a_handed_back_run_has_no_task_until_it_is_enqueued_again():
    """A second SIGTERM may end the worker between the hand-back and its re-enqueue: the
    run is then a queued run without a task, which the orphan sweep takes."""
    from django.contrib.auth import get_user_model

    from backend.llm.models import Run
    from backend.llm.runs._leases import Lease

    run = Run.objects.create(
        owner=get_user_model().objects.create_user("handed-back"),
        feature="pillars",
        operation="validate",
        background=True,
        task_id="6d5f1c1e-0000-4000-8000-000000000002",
    )
    lease = Lease.claim(run.pk, owner="stopping-worker")
    assert lease is not None
    assert lease.hand_back()
    run.refresh_from_db()
    assert (run.status, run.task_id, run.attempts) == (Run.Status.QUEUED, "", 0)


def _queued_run(name: str, *, background: bool, minutes_old: int) -> Any:
    from datetime import timedelta

    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from backend.llm.models import Run

    run = Run.objects.create(
        owner=get_user_model().objects.create_user(name),
        feature="pillars",
        operation="validate",
        background=background,
    )
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() - timedelta(minutes=minutes_old))
    return run


@pytest.mark.django_db(transaction=True)
def test_a_queued_run_whose_worker_died_before_starting_it_is_enqueued_again(monkeypatch):
    """A worker took the task, then died before claiming the run: the task row stays
    RUNNING for ever and the run queued. A task still waiting in the queue is left be."""
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from backend.llm.models import Run
    from backend.llm.runs import queue as run_queue
    from backend.llm.runs import recover_runs
    from backend.llm.runs.worker import execute_run

    dead = _queued_run("dead-task", background=True, minutes_old=10)
    waiting = _queued_run("waiting-task", background=True, minutes_old=10)
    for run in (dead, waiting):
        task_id = str(execute_run.enqueue(str(run.pk)).id)
        Run.objects.filter(pk=run.pk).update(task_id=task_id)
    dead.refresh_from_db()
    waiting.refresh_from_db()
    DBTaskResult.objects.filter(pk=dead.task_id).update(
        status="RUNNING", started_at=timezone.now() - timedelta(minutes=9)
    )
    enqueued: list[str] = []
    monkeypatch.setattr(run_queue, "enqueue", lambda r: enqueued.append(str(r.pk)))
    recover_runs()
    assert enqueued == [str(dead.pk)]
    assert DBTaskResult.objects.get(pk=dead.task_id).status == "FAILED"
    assert Run.objects.get(pk=waiting.pk).task_id == waiting.task_id


@pytest.mark.django_db
def test_a_synchronous_run_never_started_fails_typed_after_a_lease():
    from backend.llm.models import Run
    from backend.llm.runs import recover_runs

    stale = _queued_run("sync-stale", background=False, minutes_old=10)
    fresh = _queued_run("sync-fresh", background=False, minutes_old=0)
    recover_runs()
    stale.refresh_from_db()
    fresh.refresh_from_db()
    assert stale.status == Run.Status.FAILED
    assert stale.error is not None
    assert stale.error["context"]["reason"] == "worker_lost"
    assert stale.error["suggestion"]
    assert fresh.status == Run.Status.QUEUED


@pytest.mark.django_db
def test_old_finished_task_rows_are_pruned_and_recent_ones_kept(settings):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from backend.llm.runs.queue import prune_finished_tasks
    from backend.llm.runs.worker import execute_run

    settings.LLM_TASK_RETENTION_DAYS = 7
    ages = {"old": 8, "recent": 6}
    ids = {}
    for name, days in ages.items():
        ids[name] = str(execute_run.enqueue(f"run-{name}").id)
        DBTaskResult.objects.filter(pk=ids[name]).update(
            status="SUCCESSFUL", finished_at=timezone.now() - timedelta(days=days)
        )
    waiting = str(execute_run.enqueue("run-waiting").id)
    assert prune_finished_tasks() == 1
    left = {str(pk) for pk in DBTaskResult.objects.values_list("pk", flat=True)}
    assert ids["old"] not in left
    assert {ids["recent"], waiting} <= left


class _FlakyRenewals:
    """The lease's own query, whose ``update`` fails with a locked database ``failures``
    times (forever when None) before it works again."""

    def __init__(self, lease: Any, failures: int | None) -> None:
        self.real, self.failures, self.raised = lease._held, failures, 0

    def __call__(self) -> Any:
        return self

    def update(self, **fields: Any) -> int:
        from django.db import OperationalError

        if self.failures is None or self.raised < self.failures:
            self.raised += 1
            raise OperationalError("database is locked")
        return int(self.real().update(**fields))


def _claimed(name: str) -> Any:
    from django.contrib.auth import get_user_model

    from backend.llm.models import Run
    from backend.llm.runs._leases import Lease

    run = Run.objects.create(
        owner=get_user_model().objects.create_user(name),
        feature="pillars",
        operation="validate",
        background=True,
    )
    lease = Lease.claim(run.pk, owner=f"{name}-worker")
    assert lease is not None
    return run, lease


def _wait_for(condition: Callable[[], bool], timeout_s: float = 20.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.django_db(transaction=True)
def test_a_renewal_that_fails_once_does_not_lose_the_lease(settings, monkeypatch):
    from backend.llm.models import Run

    settings.LLM_RUN_LEASE_SECONDS = 3.0  # renewed every second; one failure is 1 s late
    run, lease = _claimed("hiccup")
    first_expiry = Run.objects.get(pk=run.pk).lease_expires_at
    flaky = _FlakyRenewals(lease, failures=1)
    monkeypatch.setattr(lease, "_held", flaky)
    try:
        assert _wait_for(lambda: Run.objects.get(pk=run.pk).lease_expires_at != first_expiry)
        assert flaky.raised == 1
        assert not lease.lost.is_set()
    finally:
        lease.release()


@pytest.mark.django_db(transaction=True)
def test_an_unreachable_database_loses_the_lease_only_if_the_run_was_taken_meanwhile(
    settings, monkeypatch
):
    """Renewals that fail for longer than a lease keep the run (nobody could take it
    without writing either); the first renewal that gets through finds out."""
    from backend.llm.models import Run

    settings.LLM_RUN_LEASE_SECONDS = 0.9
    run, lease = _claimed("unreachable")
    flaky = _FlakyRenewals(lease, failures=None)
    monkeypatch.setattr(lease, "_held", flaky)
    try:
        assert _wait_for(lambda: flaky.raised >= 3)  # more than a lease of failures
        assert not lease.lost.is_set()
        Run.objects.filter(pk=run.pk).update(lease_owner="the-worker-that-took-it")
        flaky.failures = flaky.raised  # the database is back
        assert _wait_for(lease.lost.is_set)
    finally:
        lease.release()


@pytest.mark.django_db(transaction=True)
def test_the_lease_is_renewed_while_the_outcome_is_being_written(settings, monkeypatch):
    """A slow outcome write (a locked database) must not let the lease lapse first: the
    renewals go on until the outcome is stored."""
    from backend.llm.models import Run

    settings.LLM_RUN_LEASE_SECONDS = 1.5  # renewed every 0.5 s
    run, lease = _claimed("slow-finish")
    real = lease._held
    seen: dict[str, Any] = {}

    class SlowFinish:
        def update(self, **fields: Any) -> int:
            if "finished_at" in fields:
                seen["before"] = Run.objects.get(pk=run.pk).lease_expires_at
                time.sleep(2.0)
                seen["after"] = Run.objects.get(pk=run.pk).lease_expires_at
            return int(real().update(**fields))

    monkeypatch.setattr(lease, "_held", SlowFinish)
    assert lease.finish(status=Run.Status.SUCCEEDED, results={"ok": True})
    assert seen["after"] > seen["before"]
    assert Run.objects.get(pk=run.pk).status == Run.Status.SUCCEEDED


@pytest.mark.django_db(transaction=True)
def test_one_thread_renews_every_lease_of_the_process(settings):
    """Runs held at once share one renewing thread; a released lease is no longer
    renewed, the others are."""
    from backend.llm.models import Run

    settings.LLM_RUN_LEASE_SECONDS = 1.5  # renewed every 0.5 s
    threads_before = threading.active_count()
    held = [_claimed(f"many-{n}") for n in range(12)]
    try:
        assert threading.active_count() <= threads_before + 1

        def expiry(run: Any) -> datetime:
            expires = Run.objects.get(pk=run.pk).lease_expires_at
            assert expires is not None
            return expires

        first = {run.pk: expiry(run) for run, _ in held}
        released_run, released = held.pop()
        released.release()
        released_expiry = expiry(released_run)

        def all_renewed() -> bool:
            return all(expiry(run) > first[run.pk] for run, _ in held)

        assert _wait_for(all_renewed)
        time.sleep(1.0)  # two periods: a renewal of the released lease would show
        assert expiry(released_run) == released_expiry
    finally:
        for _, lease in held:
            lease.release()


@pytest.mark.django_db(transaction=True)
def test_a_synchronous_run_is_recorded_running_and_read_back_lazily(
    settings, django_assert_num_queries
):
    """``execute`` inserts the run already running (no separate claim) and does not read
    it back: what the database wrote (its timestamps, the attempt) loads on first use."""
    from django.contrib.auth import get_user_model

    from backend.llm import LLMOrchestrator
    from backend.llm.runs import RunService
    from backend.llm.testing import TestModel, manager_for
    from backend.llm.types import LLMRequest

    user = get_user_model().objects.create_user("sync-run")
    service = RunService(LLMOrchestrator(model_manager=manager_for(TestModel())))
    pillar = {"name": "Core Mechanic", "description": "Players solve puzzles"}
    request = LLMRequest(feature="pillars", operation="validate", data=pillar)
    with django_assert_num_queries(2):  # the insert, the outcome
        run = service.execute(user, request)
    assert run.status == "succeeded"
    assert run.results
    with django_assert_num_queries(2):  # one per field, on first use
        assert run.started_at is not None
        assert run.finished_at is not None
        assert run.finished_at >= run.started_at
    assert run.attempts == 1
