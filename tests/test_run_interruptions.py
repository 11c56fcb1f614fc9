"""Runs stop at safe points: a worker's signals hand a run back (never cancel it, however
many arrive), a signal that lands inside a database call waits for the call to end, and a
cancelled run stops its retries at once instead of at the end of its node."""

from __future__ import annotations

import signal
import threading
import time
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from backend.llm import LLMOrchestrator
from backend.llm import exceptions as errors
from backend.llm.models import Run
from backend.llm.runs import ProcessStoppingError, RunService
from backend.llm.runs.worker import _Stopping
from backend.llm.testing import CallInfo, FunctionModel, instance_for, manager_for
from backend.llm.types import LLMRequest
from tests.test_background_runs import AGENTIC


@pytest.fixture(autouse=True)
def fake_model(fake_run_service: None) -> None:
    """Every test here runs on the fake orchestrator (``conftest.fake_run_service``)."""


def test_a_signal_inside_a_database_call_stops_the_run_right_after_it():
    stopping = _Stopping({signal.SIGTERM: signal.SIG_DFL})

    def query(*args: Any) -> str:
        assert stopping.handle(signal.SIGTERM, None) is None  # deferred, not raised here
        return "rows"

    with pytest.raises(ProcessStoppingError):
        stopping.around_queries(query, "SELECT 1", None, False, {})
    assert stopping.event.is_set()
    assert stopping.around_queries(lambda *args: "more", "SELECT 1", None, False, {}) == "more"


def test_only_the_first_signal_reaches_the_workers_own_handler():
    """The worker's handler exits the process on its second call (sys.exit(1)), which
    would record the user's run as cancelled."""
    calls: list[int] = []
    stopping = _Stopping({signal.SIGTERM: lambda signum, frame: calls.append(signum)})
    with pytest.raises(ProcessStoppingError):
        stopping.handle(signal.SIGTERM, None)
    stopping.handle(signal.SIGTERM, None)
    stopping.handle(signal.SIGTERM, None)
    assert calls == [signal.SIGTERM]


@pytest.mark.django_db(transaction=True)
def test_cancel_stops_a_runs_retries_at_once(settings):
    """The model answers every call with a rate limit (retry after 1 s) and the run may
    try 10 times: cancelled after its first call, it makes no more."""
    settings.LLM_RUN_LEASE_SECONDS = 0.6  # a lost lease is noticed within 0.2 s
    calls: list[float] = []

    def busy(call: CallInfo) -> Any:
        calls.append(time.monotonic())
        raise errors.RateLimitError("Busy.", retry_after_s=1.0)

    service = RunService(LLMOrchestrator(model_manager=manager_for(FunctionModel(function=busy))))
    request = LLMRequest(
        feature="pillars",
        operation="validate",
        data={"name": "Core", "description": "Puzzles"},
        options={"max_attempts": 10},
        timeout_ms=120_000,
    )
    run, _ = service.submit(get_user_model().objects.create_user("canceller"), request)
    outcome: dict[str, Any] = {}

    def execute() -> None:
        from django.db import connection

        try:
            outcome["run"] = service.run(run)
        finally:
            connection.close()

    worker = threading.Thread(target=execute)
    worker.start()
    deadline = time.monotonic() + 60
    while not calls and time.monotonic() < deadline:
        time.sleep(0.01)
    RunService.cancel(run)
    cancelled_at = time.monotonic()
    worker.join(timeout=60)
    assert not worker.is_alive()
    assert outcome["run"].status == Run.Status.CANCELLED
    assert len(calls) <= 2  # one more may start before the lease renewal notices
    assert all(at <= cancelled_at + 0.5 for at in calls)


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_two_sigterms_during_an_agentic_run_hand_it_back_never_cancel_it():
    from tests.test_api import client_for, make_user
    from tests.test_background_runs import start_worker, status_of, stop, submit, wait_for

    client = client_for(make_user("twice"))
    run_id = submit(client, AGENTIC).json()["run_id"]
    worker = start_worker(delay_s=5.0)  # each agent's call takes 5 s
    try:
        wait_for(lambda: status_of(run_id) == Run.Status.RUNNING)
        time.sleep(1)  # the agents' calls are in flight, in their threads
        worker.send_signal(signal.SIGTERM)
        time.sleep(0.2)
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)
    finally:
        output = stop(worker)
    run = Run.objects.get(pk=run_id)
    assert (run.status, run.attempts, run.error) == (Run.Status.QUEUED, 0, None), output
    second = start_worker("--batch")
    try:
        assert second.wait(timeout=120) == 0
    finally:
        stop(second)
    assert status_of(run_id) == Run.Status.SUCCEEDED


def test_a_worker_told_to_stop_before_the_run_began_hands_it_back_on_the_next_signal():
    """db_worker's handler exits (SystemExit) when it is called a second time: a signal
    during the task's set-up made the first call. The run must be handed back, never
    left to SystemExit, which records it as cancelled."""
    calls: list[int] = []

    def worker_handler(signum: int, frame: Any) -> None:
        calls.append(signum)
        raise SystemExit(1)  # what Worker.shutdown does when it is already stopping

    previous = signal.getsignal(signal.SIGTERM)
    stopping = _Stopping({signal.SIGTERM: worker_handler})
    try:
        with pytest.raises(ProcessStoppingError):
            stopping.handle(signal.SIGTERM, None)
        assert calls == [signal.SIGTERM]
        assert signal.getsignal(signal.SIGTERM) == stopping.handle  # still ours
    finally:
        signal.signal(signal.SIGTERM, previous)


@pytest.mark.django_db(transaction=True)
def test_an_outcome_the_database_refuses_as_data_is_not_retried(settings, monkeypatch):
    """Only a locked or unreachable database is worth waiting for; a write refused for
    its data fails the same way every time (PostgreSQL and a NUL in the results)."""
    from django.db import DataError

    from backend.llm.runs._leases import Lease

    settings.LLM_RUN_LEASE_SECONDS = 30.0
    run = Run.objects.create(
        owner=get_user_model().objects.create_user("refused"),
        feature="pillars",
        operation="validate",
    )
    lease = Lease.claim(run.pk, owner="refused-worker")
    assert lease is not None

    class Refusing:
        def update(self, **fields: Any) -> int:
            raise DataError("unsupported Unicode escape sequence")

    monkeypatch.setattr(lease, "_held", Refusing)
    started = time.monotonic()
    with pytest.raises(DataError):
        lease.finish(status=Run.Status.SUCCEEDED, results={"text": "\x00"})
    assert time.monotonic() - started < 5  # not a lease of retries


@pytest.mark.django_db(transaction=True)
def test_a_holder_stuck_past_the_deadline_lets_its_lease_lapse_and_the_run_times_out(settings):
    from backend.llm._dbtime import now_plus
    from backend.llm.runs import recover_runs
    from backend.llm.runs._leases import Lease

    settings.LLM_RUN_LEASE_SECONDS = 0.6
    owner = get_user_model().objects.create_user("stuck")
    run = Run.objects.create(owner=owner, feature="pillars", operation="validate")
    Run.objects.filter(pk=run.pk).update(deadline_at=now_plus(timedelta(seconds=0.3)))
    lease = Lease.claim(run.pk, owner="stuck-worker")  # and never heard from again
    assert lease is not None
    try:
        deadline = time.monotonic() + 30
        while Run.objects.get(pk=run.pk).status == Run.Status.RUNNING:
            assert time.monotonic() < deadline, "the stuck run was never failed"
            recover_runs()
            time.sleep(0.2)
        stored = Run.objects.get(pk=run.pk)
        assert stored.status == Run.Status.FAILED
        assert stored.error is not None
        assert stored.error["code"] == "timeout"
    finally:
        lease.release()


def test_a_failing_listener_changes_no_runs_outcome():
    """Listeners observe runs: one that raises neither costs a run its answer nor
    replaces a failed run's typed error with its own."""

    def broken(*args: Any) -> None:
        raise KeyError("listener")

    request = LLMRequest(
        feature="pillars", operation="validate", data={"name": "Core", "description": "Puzzles"}
    )
    answering = FunctionModel(function=lambda call: instance_for(call.schema or {}))
    orchestrator = LLMOrchestrator(model_manager=manager_for(answering), listeners=[broken])
    assert orchestrator.execute(request).results

    def refuse(call: CallInfo) -> Any:
        raise errors.AuthenticationError("Bad key.")

    refusing = LLMOrchestrator(
        model_manager=manager_for(FunctionModel(function=refuse)), listeners=[broken]
    )
    with pytest.raises(errors.AuthenticationError):
        refusing.execute(request)
