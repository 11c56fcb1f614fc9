"""Runs through the task queue: throughput with 1, 2 and 4 workers, and the latency the
queue adds to a run.

A model with 100 ms latency (``_common.latency_orchestrator``), real ``manage.py
db_worker`` processes, SQLite by default (a fresh file) or the database at
``DATABASE_URL`` (``python scripts/postgres_tests.py -- python bench/queue_throughput.py``
runs it on a throwaway PostgreSQL). Throughput: N runs queued at once, time until all
are finished, per worker count (goal: near-linear up to the CPU count). Added latency:
one run at a time through the queue (submit to finished, as a polling client sees it)
minus the same request through ``execute()`` in this process (goal: < 50 ms on SQLite,
< 20 ms on PostgreSQL).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from _common import ROOT, load_line

BENCH = Path(__file__).resolve().parent
os.environ["DJANGO_SETTINGS_MODULE"] = "queue_settings"
if not os.environ.get("DATABASE_URL"):
    os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="pixe-queue-")) / "db.sqlite3")

import django  # noqa: E402

django.setup()

from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402

from backend.llm.models import Run  # noqa: E402
from backend.llm.runs import get_run_service  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import PILLAR  # noqa: E402

REQUEST = LLMRequest(feature="pillars", operation="validate", data=PILLAR)
INTERVAL_S = 0.01  # the workers' polling interval


def start_workers(count: int) -> list[subprocess.Popen[str]]:
    env = {**os.environ, "PYTHONPATH": f"{BENCH}:{ROOT}"}
    workers = [
        subprocess.Popen(
            [
                sys.executable,
                "manage.py",
                "db_worker",
                "--no-startup-delay",
                f"--interval={INTERVAL_S}",
                "--verbosity=2",
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(count)
    ]
    for worker in workers:  # ready once it says so
        assert worker.stdout is not None
        while "Starting worker" not in (line := worker.stdout.readline()):
            if not line:
                raise RuntimeError("a worker did not start")
    return workers


def stop(workers: list[subprocess.Popen[str]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.communicate(timeout=60)


def wait_finished(run_ids: Sequence[object]) -> None:
    while Run.objects.filter(pk__in=run_ids, status__in=Run.ACTIVE).exists():
        time.sleep(0.002)


def throughput(user: User, workers: int, runs: int) -> float:
    service, pool = get_run_service(), start_workers(workers)
    try:
        started = time.perf_counter()
        ids = [service.submit(user, REQUEST, background=True)[0].pk for _ in range(runs)]
        wait_finished(ids)
        elapsed = time.perf_counter() - started
    finally:
        stop(pool)
    assert Run.objects.filter(pk__in=ids, status=Run.Status.SUCCEEDED).count() == runs
    return runs / elapsed


def added_latency(user: User, samples: int) -> tuple[float, float]:
    service, pool = get_run_service(), start_workers(1)
    try:
        queued = []
        for _ in range(samples):
            started = time.perf_counter()
            run, _ = service.submit(user, REQUEST, background=True)
            wait_finished([run.pk])
            queued.append((time.perf_counter() - started) * 1000)
    finally:
        stop(pool)
    direct = []
    for _ in range(samples):
        started = time.perf_counter()
        service.orchestrator.execute(REQUEST)
        direct.append((time.perf_counter() - started) * 1000)
    return statistics.median(queued), statistics.median(direct)


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    user, _ = User.objects.get_or_create(username="bench")
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(
        f"{database}, model latency 100 ms, worker polling every {INTERVAL_S * 1000:.0f} ms, "
        f"{os.cpu_count()} CPUs"
    )
    base = None
    for count in args.workers:
        rate = throughput(user, count, args.runs)
        base = base or rate
        print(
            f"  {count} worker(s): {rate:6.2f} runs/s  ({rate / base:.2f}x of 1 worker; "
            f"the model alone allows {10 * count:.0f}/s)"
        )
    queued, direct = added_latency(user, args.samples)
    print(
        f"  one run: through the queue {queued:.1f} ms, execute() {direct:.1f} ms, "
        f"added {queued - direct:.1f} ms (medians of {args.samples})"
    )


if __name__ == "__main__":
    main()
