"""Provider limits shared by every process of a deployment (``"shared": true``): three
processes under one 10 requests/s, 5 in flight limit never exceed it together."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import connection

from backend.llm._dbtime import now_plus
from backend.llm._shared_limits import SharedProviderLimits
from backend.llm.limits import RateLimit, limits_for
from backend.llm.models import ProviderCallSlot
from tests.environment import ROOT, user_environment
from tests.loopback_openai import loopback_openai

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_shared_limit_is_backed_by_the_database_and_a_plain_one_by_memory():
    shared = limits_for("openai", RateLimit(rps=5, shared=True))
    plain = limits_for("openai", RateLimit(rps=5))
    assert isinstance(shared, SharedProviderLimits)
    assert plain is not None
    assert not isinstance(plain, SharedProviderLimits)


def test_separate_holders_never_exceed_the_shared_cap_together():
    """Three instances stand for three processes (each has its own, as each process
    does); twelve threads call through them."""
    limit = RateLimit(concurrency=3, shared=True)
    holders = [SharedProviderLimits("capped", limit) for _ in range(3)]
    lock, in_flight, peak = threading.Lock(), [0], [0]

    def call(index: int) -> None:
        with holders[index % 3].slot(time.monotonic() + 60):
            with lock:
                in_flight[0] += 1
                peak[0] = max(peak[0], in_flight[0])
            time.sleep(0.05)
            with lock:
                in_flight[0] -= 1
        connection.close()

    threads = [threading.Thread(target=call, args=(index,)) for index in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert peak[0] == 3
    assert not ProviderCallSlot.objects.exclude(holder="").exists()  # all given back


def test_a_slot_whose_process_died_is_free_once_its_hold_expires():
    limits = SharedProviderLimits("orphaned", RateLimit(concurrency=1, shared=True))
    with limits.slot(time.monotonic() + 60):
        pass  # creates the slot row
    ProviderCallSlot.objects.filter(provider="orphaned").update(
        holder="dead-process", expires_at=now_plus(timedelta(seconds=-1))
    )
    with limits.slot(time.monotonic() + 5):
        assert ProviderCallSlot.objects.get(provider="orphaned").holder != "dead-process"


def test_a_held_slot_past_the_deadline_is_a_rate_limit_error():
    from backend.llm import exceptions as errors

    limits = SharedProviderLimits("busy", RateLimit(concurrency=1, shared=True))
    with (
        limits.slot(time.monotonic() + 60),
        pytest.raises(errors.RateLimitError) as raised,
        limits.slot(time.monotonic() + 0.3),
    ):
        pass
    assert raised.value.context["provider"] == "busy"


def test_the_async_path_takes_its_turn_off_the_event_loop():
    """The suite's blocking-call detector fails any database call made on the loop."""
    limits = SharedProviderLimits("async", RateLimit(rps=20, concurrency=2, shared=True))

    async def calls() -> int:
        async def one() -> None:
            async with limits.aslot(time.monotonic() + 60):
                await asyncio.sleep(0.01)

        await asyncio.gather(*(one() for _ in range(6)))
        return 6

    assert asyncio.run(calls()) == 6


@pytest.mark.processes
def test_three_processes_under_one_shared_limit_stay_within_it_together():
    with loopback_openai() as server:
        server.delay_s = 0.3
        environment = user_environment(
            DJANGO_SETTINGS_MODULE="tests.worker_settings",
            WORKER_DB_NAME=str(connection.settings_dict["NAME"]),
            OPENAI_BASE_URL=server.base_url,
            LLM_ORCHESTRATOR_RATE_LIMITS=json.dumps(
                {"openai": {"rps": 10, "concurrency": 5, "shared": True}}
            ),
        )
        processes = [
            subprocess.Popen(
                [sys.executable, "-m", "tests.shared_limits_client", "15"],
                cwd=ROOT,
                env=environment,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(3)
        ]
        outputs = [process.communicate(timeout=300)[0] for process in processes]
        assert all(process.returncode == 0 for process in processes), outputs
        arrivals = sorted(server.arrivals)
    assert len(arrivals) == 45
    assert server.peak_in_flight <= 5
    # Starts at least 0.1 s apart, whichever process made them: at most 10.5 per second.
    rate = (len(arrivals) - 1) / (arrivals[-1] - arrivals[0])
    assert rate <= 10.5, rate
    busiest = max(sum(1 for t in arrivals if start <= t < start + 1) for start in arrivals)
    assert busiest <= 11


def test_a_caller_cancelled_while_taking_a_shared_slot_gives_it_back():
    """The turn is taken on another thread: a caller cancelled meanwhile (its run was
    cancelled, its loop ended) must not leave the slot held until its hold expires."""
    limits = SharedProviderLimits("cancelled", RateLimit(concurrency=1, shared=True))

    async def cancelled_at_once() -> None:
        task = asyncio.ensure_future(limits._atry_take(time.monotonic() + 60))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(cancelled_at_once())
    deadline = time.monotonic() + 30
    while ProviderCallSlot.objects.filter(provider="cancelled").exclude(holder="").exists():
        assert time.monotonic() < deadline, "the slot was never given back"
        time.sleep(0.05)
    with limits.slot(time.monotonic() + 5):  # and it can be taken again
        assert ProviderCallSlot.objects.filter(provider="cancelled").exclude(holder="").exists()
