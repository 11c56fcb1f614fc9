"""One clock and one deadline per run: leases, deadlines and recovery use the database's
time, so a process whose clock is wrong neither takes over healthy runs nor misses dead
ones, and a run's deadline counts from its submission across every attempt."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db.models.functions import Now

from backend.llm import _dbtime
from backend.llm import exceptions as errors
from backend.llm._dbtime import database_clock, database_now, now_plus
from backend.llm.models import Run
from backend.llm.runs import get_run_service, recover_runs
from backend.llm.runs._leases import Lease
from backend.llm.types import LLMRequest
from tests import api_support
from tests.clock import skewed_clock

pytestmark = pytest.mark.django_db

FIVE_MINUTES = 300.0
VALIDATE = LLMRequest(
    feature="pillars", operation="validate", data={"name": "Core", "description": "Puzzles"}
)


@pytest.fixture(autouse=True)
def fake_model(fake_run_service: None) -> None:
    """Every test here runs on the fake orchestrator (``conftest.fake_run_service``)."""


def _user(name: str) -> Any:
    return get_user_model().objects.create_user(name)


def _running(name: str, *, lease_s: float, background: bool = True) -> Run:
    """A run held by another worker, whose lease ends ``lease_s`` from now (database
    time; negative: it lapsed)."""
    run = Run.objects.create(
        owner=_user(name),
        feature="pillars",
        operation="validate",
        status=Run.Status.RUNNING,
        background=background,
        attempts=1,
        lease_owner="other-worker",
    )
    Run.objects.filter(pk=run.pk).update(lease_expires_at=now_plus(timedelta(seconds=lease_s)))
    return run


def test_database_now_is_the_databases_clock_not_the_processes():
    with skewed_clock(FIVE_MINUTES):
        seen = database_now()
    with skewed_clock(-FIVE_MINUTES):
        seen_behind = database_now()
    assert abs((seen_behind - seen).total_seconds()) < 60
    assert abs((database_now() - seen).total_seconds()) < 60


def test_the_database_clock_is_read_once_and_carried_forward(django_assert_num_queries):
    """Throttle windows use ``database_clock``: the database's time without a query per
    request, unmoved by a wrong (or jumping) process clock."""
    _dbtime._readings.clear()
    with skewed_clock(FIVE_MINUTES):
        first = database_clock()
        with django_assert_num_queries(0):
            time.sleep(0.2)
            later = database_clock()
    assert 0.2 <= later - first < 5
    assert abs(database_clock() - database_now().timestamp()) < 1
    assert abs(database_clock() - time.time()) < 60  # not the skewed clock


@pytest.mark.parametrize("skew_s", [FIVE_MINUTES, -FIVE_MINUTES])
def test_a_process_with_a_wrong_clock_takes_over_no_healthy_run(skew_s):
    healthy = _running(f"healthy{skew_s}", lease_s=30)
    with skewed_clock(skew_s):
        recover_runs()
        assert Lease.claim(healthy.pk, owner="skewed-worker") is None
    healthy.refresh_from_db()
    assert (healthy.status, healthy.lease_owner, healthy.attempts) == (
        Run.Status.RUNNING,
        "other-worker",
        1,
    )


@pytest.mark.parametrize("skew_s", [FIVE_MINUTES, -FIVE_MINUTES])
def test_a_process_with_a_wrong_clock_still_recovers_a_lapsed_run(skew_s, monkeypatch):
    from backend.llm.runs import queue as run_queue
    from backend.llm.runs import recover_runs

    lapsed = _running(f"lapsed{skew_s}", lease_s=-5)
    enqueued: list[str] = []
    monkeypatch.setattr(run_queue, "enqueue", lambda run: enqueued.append(str(run.pk)))
    with skewed_clock(skew_s):
        assert recover_runs() == 1
    assert enqueued == [str(lapsed.pk)]
    assert Run.objects.get(pk=lapsed.pk).status == Run.Status.QUEUED


def test_a_lease_claimed_by_a_wrong_clock_ends_a_lease_from_now_in_database_time():
    run = Run.objects.create(owner=_user("claimer"), feature="pillars", operation="validate")
    with skewed_clock(FIVE_MINUTES):
        lease = Lease.claim(run.pk, owner="skewed-worker")
    assert lease is not None
    lease.release()
    run.refresh_from_db()
    assert run.lease_expires_at is not None
    assert timedelta(seconds=20) < run.lease_expires_at - database_now() <= timedelta(seconds=31)


def test_submission_stores_a_deadline_from_database_time():
    service = get_run_service()
    with skewed_clock(FIVE_MINUTES):
        run, _ = service.submit(_user("deadline"), VALIDATE.model_copy(update={"timeout_ms": 9000}))
    stored = Run.objects.get(pk=run.pk)
    assert stored.deadline_at == run.deadline_at == stored.created_at + timedelta(seconds=9)
    assert abs((stored.created_at - database_now()).total_seconds()) < 60


def test_the_default_timeout_sets_the_deadline_when_the_request_has_none():
    service = get_run_service()
    run, _ = service.submit(_user("default-deadline"), VALIDATE)
    default_ms = service.orchestrator.config.default_timeout_ms
    assert run.deadline_at == run.created_at + timedelta(milliseconds=default_ms)


def _with_deadline_in(run: Run, seconds: float) -> None:
    Run.objects.filter(pk=run.pk).update(deadline_at=now_plus(timedelta(seconds=seconds)))


def test_a_run_past_its_deadline_fails_with_a_timeout_and_is_never_started():
    service = get_run_service()
    run, _ = service.submit(_user("late"), VALIDATE, background=True)
    _with_deadline_in(run, -1)
    with pytest.raises(errors.TimeoutError) as raised:
        service.run(run)
    assert raised.value.http_status == 504
    stored = Run.objects.get(pk=run.pk)
    assert (stored.status, stored.attempts, stored.started_at) == (Run.Status.FAILED, 0, None)
    assert stored.error is not None
    assert stored.error["code"] == "timeout"
    assert "queue" in stored.error["message"]
    assert stored.error["suggestion"]
    assert api_support.model_calls() == 0


def test_each_attempt_gets_only_what_is_left_of_the_deadline():
    """A hand-back (SIGTERM) does not count as an attempt; it must not restart the
    deadline either."""
    service = get_run_service()
    run, _ = service.submit(_user("handed"), VALIDATE.model_copy(update={"timeout_ms": 60_000}))
    first = Lease.claim(run.pk, owner="stopping-worker")
    assert first is not None
    assert first.time_left_s is not None
    assert 50 < first.time_left_s <= 60
    assert first.hand_back()
    _with_deadline_in(run, 2)
    second = Lease.claim(run.pk, owner="next-worker")
    assert second is not None
    assert second.time_left_s is not None
    assert 0 < second.time_left_s <= 2
    second.release()
    request = service.stored_request(Run.objects.get(pk=run.pk), time_left_s=second.time_left_s)
    assert request.timeout_ms is not None
    assert request.timeout_ms <= 2000


def test_the_time_left_bounds_the_run_not_its_original_timeout():
    """The model takes 0.5 s per answer and never answers to the schema: with 60 s the
    run would fail after its retries; with 0.3 s left, the deadline ends it first."""
    api_support.OVERRIDE.update(delay_s=0.5, reply={"not": "a validation"})
    get_run_service.cache_clear()
    service = get_run_service()
    run, _ = service.submit(_user("short"), VALIDATE.model_copy(update={"timeout_ms": 60_000}))
    _with_deadline_in(run, 0.3)
    with pytest.raises(errors.TimeoutError):
        service.run(run)
    stored = Run.objects.get(pk=run.pk)
    assert stored.status == Run.Status.FAILED
    assert api_support.model_calls() == 1


def test_recovery_fails_a_lapsed_run_past_its_deadline_instead_of_requeueing_it(monkeypatch):
    from backend.llm.runs import queue as run_queue
    from backend.llm.runs import recover_runs

    lapsed = _running("lapsed-late", lease_s=-5)
    _with_deadline_in(lapsed, -1)
    monkeypatch.setattr(run_queue, "enqueue", lambda run: pytest.fail("requeued"))
    assert recover_runs() == 1
    stored = Run.objects.get(pk=lapsed.pk)
    assert stored.status == Run.Status.FAILED
    assert stored.error is not None
    assert stored.error["code"] == "timeout"


def test_recovery_leaves_a_running_run_past_its_deadline_to_its_holder():
    """Its own process times it out; a run is failed from outside only once its lease
    says nobody is running it."""
    held = _running("held-late", lease_s=30)
    _with_deadline_in(held, -1)
    recover_runs()
    assert Run.objects.get(pk=held.pk).status == Run.Status.RUNNING


def test_recovery_fails_a_queued_run_past_its_deadline():
    service = get_run_service()
    run, _ = service.submit(_user("queued-late"), VALIDATE, background=True)
    _with_deadline_in(run, -1)
    recover_runs()
    stored = Run.objects.get(pk=run.pk)
    assert stored.status == Run.Status.FAILED
    assert stored.error is not None
    assert stored.error["code"] == "timeout"
    assert Run.objects.filter(pk=run.pk, finished_at__lte=Now()).exists()


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_worker_whose_clock_runs_five_minutes_ahead_leaves_a_healthy_run_alone():
    """Two ``db_worker`` processes on one database, one with its clock 5 minutes fast:
    the fast one runs its own task (and recovery before it) while the other's run is in
    progress, and takes nothing over."""
    from tests.test_api import client_for, make_user
    from tests.test_background_runs import start_worker, status_of, stop, submit, wait_for

    client = client_for(make_user("clocks"))
    first = submit(client).json()["run_id"]
    normal = start_worker(delay_s=12.0, LLM_RUN_LEASE_SECONDS="3")
    fast = None
    try:
        wait_for(lambda: status_of(first) == Run.Status.RUNNING)
        fast = start_worker(
            "--batch", LLM_RUN_LEASE_SECONDS="3", WORKER_CLOCK_SKEW_S=str(FIVE_MINUTES)
        )
        second = submit(client).json()["run_id"]
        assert fast.wait(timeout=120) == 0, stop(fast)
        assert status_of(second) == Run.Status.SUCCEEDED
        assert status_of(first) == Run.Status.RUNNING
        wait_for(lambda: status_of(first) == Run.Status.SUCCEEDED)
    finally:
        for worker in (normal, fast):
            if worker is not None:
                stop(worker)
    assert Run.objects.get(pk=first).attempts == 1
