"""Chaos, measured: background runs through gunicorn and task workers while a random
process is killed every few seconds, as deployed.

gunicorn with the shipped config (production settings, 2 workers) and 3 ``manage.py
db_worker`` processes share a fresh SQLite file, or the database at ``DATABASE_URL``
(``python scripts/postgres_tests.py -- python bench/chaos.py`` runs it on a throwaway
PostgreSQL). The model is the loopback OpenAI-compatible server (in this process: its
request log attributes every model call to its run), answering in 1-3 s, 10% of the
answers a 429 or a 503. RUNS background runs are submitted (each with its own
Idempotency-Key, resent when a killed web worker drops the request) while, for SECONDS,
a random web or task worker gets SIGKILL or SIGTERM every 1.5-3 s; a task worker that
exits is started again (as systemd would; gunicorn restarts its own). Then the client
polls every run (reading runs also recovers them) until each is finished, or lease +
deadline have passed.

Printed: runs by final status and reason, runs left queued or running (goal 0), runs
cancelled (goal 0: nobody cancels here), runs whose model was called again after a call
it was not given a fault for (work done twice: a worker killed or stopped mid-call; two
*outcomes* cannot be written, every outcome is one conditional UPDATE by the lease
holder), model calls per succeeded run (faults and their retries included), and the
worst time from submission to a final state. ``--json`` prints the report as JSON
(what the test suite reads).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import secrets
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from _common import ROOT, api_token, free_port, load_line

os.environ["DJANGO_SETTINGS_MODULE"] = "backend.settings"
if not os.environ.get("DATABASE_URL"):
    os.environ["SQLITE_PATH"] = str(Path(tempfile.mkdtemp(prefix="pixe-chaos-")) / "db.sqlite3")

import django

django.setup()

from django.core.management import call_command  # noqa: E402

from backend.llm.loopback import LoopbackServer, serving  # noqa: E402
from backend.llm.models import Run  # noqa: E402

FINAL = {"succeeded", "degraded", "failed", "cancelled"}


class Deployment:
    """gunicorn and the task workers, started as an operator would."""

    def __init__(self, base_url: str, workers: int, lease_s: float) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.environment = {
            **os.environ,
            "DJANGO_PRODUCTION": "1",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "OPENAI_BASE_URL": base_url,
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "GUNICORN_WORKERS": "2",
            "LLM_RUN_LEASE_SECONDS": str(lease_s),
            "API_RATE_LLM_EXECUTE": "100000/min",
            "API_RATE_USER": "100000/min",
        }
        self.gunicorn = self._start([str(Path(sys.executable).parent / "gunicorn"), "backend.wsgi"])
        self.workers = [self._start_worker() for _ in range(workers)]
        self.kills: collections.Counter[str] = collections.Counter()

    def _start(self, command: list[str]) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            command,
            cwd=ROOT,
            env=self.environment,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

    def _start_worker(self) -> subprocess.Popen[bytes]:
        return self._start([sys.executable, "manage.py", "db_worker", "--interval", "0.2"])

    def web_workers(self) -> list[int]:
        children = Path(f"/proc/{self.gunicorn.pid}/task/{self.gunicorn.pid}/children")
        try:
            return [int(pid) for pid in children.read_text().split()]
        except OSError:
            return []

    def restart_exited_workers(self) -> None:
        for index, worker in enumerate(self.workers):
            if worker.poll() is not None:
                self.workers[index] = self._start_worker()

    def strike(self, chance: random.Random) -> None:
        """SIGKILL or SIGTERM to a random web or task worker."""
        victims = [("web", pid) for pid in self.web_workers()] + [
            ("task", worker.pid) for worker in self.workers if worker.poll() is None
        ]
        if not victims:
            return
        kind, pid = chance.choice(victims)
        sig = chance.choice([signal.SIGKILL, signal.SIGTERM])
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            return
        self.kills[f"{kind} {sig.name}"] += 1

    def stop(self) -> None:
        for process in [self.gunicorn, *self.workers]:
            process.terminate()
        for process in [self.gunicorn, *self.workers]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def _http(url: str, token: str, body: dict[str, Any] | None = None, **headers: str) -> Any:
    request = urllib.request.Request(
        url,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Authorization": f"Token {token}",
            "Content-Type": "application/json",
            "X-Forwarded-Proto": "https",
            **headers,
        },
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.loads(response.read())


def _until_it_answers(call: Any, give_up_at: float) -> Any:
    """``call()``, again while the server is down or dropped the request (a killed web
    worker); the Idempotency-Key makes a resent submission the same run."""
    while True:
        try:
            return call()
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            if time.monotonic() > give_up_at:
                raise
            time.sleep(0.5)


def run(args: argparse.Namespace) -> dict[str, Any]:
    call_command("migrate", verbosity=0)
    token = api_token(f"chaos-{secrets.token_hex(4)}")
    chance = random.Random(args.seed)
    server = LoopbackServer()
    server.delay_s, server.max_delay_s, server.fault_rate = 1.0, 3.0, args.fault_rate
    with serving(server):
        deployment = Deployment(server.base_url, args.workers, args.lease)
        try:
            return _drive(deployment, server, token, chance, args)
        finally:
            deployment.stop()


def _drive(
    deployment: Deployment,
    server: LoopbackServer,
    token: str,
    chance: random.Random,
    args: argparse.Namespace,
) -> dict[str, Any]:
    started = time.monotonic()
    give_up_at = started + args.seconds + args.lease + args.timeout_ms / 1000 + 120

    def submit(index: int) -> str:
        # Spread over the first half of the chaos.
        time.sleep(max(0.0, started + index * args.seconds / 2 / args.runs - time.monotonic()))
        body = {
            "feature": "pillars",
            "operation": "validate",
            "model": "openai:loopback",
            "timeout_ms": args.timeout_ms,
            "data": {"name": f"chaos-run-{index}", "description": "Puzzles open the world."},
        }
        url = f"{deployment.url}/api/llm/execute/"
        headers = {"Prefer": "respond-async", "Idempotency-Key": f"chaos-{index}"}
        answer = _until_it_answers(lambda: _http(url, token, body, **headers), give_up_at)
        return str(answer["run_id"])

    stop_chaos = threading.Event()

    def chaos() -> None:
        while not stop_chaos.wait(chance.uniform(1.5, 3.0)):
            deployment.strike(chance)
            deployment.restart_exited_workers()

    killer = threading.Thread(target=chaos, daemon=True)
    _wait_until_up(deployment, token)
    killer.start()
    with ThreadPoolExecutor(8) as pool:
        run_ids = list(pool.map(submit, range(args.runs)))
    time.sleep(max(0.0, started + args.seconds - time.monotonic()))
    stop_chaos.set()
    killer.join()
    deployment.restart_exited_workers()
    left = set(run_ids)
    while left and time.monotonic() < give_up_at:
        for run_id in list(left):
            url = f"{deployment.url}/api/llm/runs/{run_id}/"
            status = _until_it_answers(lambda url=url: _http(url, token), give_up_at)["status"]
            if status in FINAL:
                left.discard(run_id)
        time.sleep(1)
    return _report(run_ids, server, deployment)


def _wait_until_up(deployment: Deployment, token: str) -> None:
    _until_it_answers(
        lambda: _http(f"{deployment.url}/api/llm/operations/", token), time.monotonic() + 120
    )


def _report(run_ids: list[str], server: LoopbackServer, deployment: Deployment) -> dict[str, Any]:
    runs = list(Run.objects.filter(pk__in=run_ids))
    by_outcome: collections.Counter[str] = collections.Counter()
    for run in runs:
        reason = (run.error or {}).get("context", {}).get("reason") or (run.error or {}).get("code")
        by_outcome[f"{run.status}" + (f" ({reason})" if reason else "")] += 1
    answers: collections.Counter[str] = collections.Counter()
    calls: collections.Counter[str] = collections.Counter()
    for request, answered in server.answered:
        name = _run_name(request)
        calls[name] += 1
        answers[name] += int(answered)
    succeeded = [run for run in runs if run.status == Run.Status.SUCCEEDED]
    to_final = [
        (run.finished_at - run.created_at).total_seconds()
        for run in runs
        if run.finished_at is not None
    ]
    return {
        "runs": len(run_ids),
        "by_outcome": dict(sorted(by_outcome.items())),
        "left_active": sum(1 for run in runs if run.status in Run.ACTIVE),
        "cancelled": sum(1 for run in runs if run.status == Run.Status.CANCELLED),
        "runs_called_again": sum(1 for count in answers.values() if count > 1),
        "model_calls": sum(calls.values()),
        "calls_per_succeeded_run": round(sum(calls.values()) / max(1, len(succeeded)), 3),
        "worst_seconds_to_final": round(max(to_final, default=0.0), 1),
        "kills": dict(sorted(deployment.kills.items())),
        "attempts": dict(sorted(collections.Counter(run.attempts for run in runs).items())),
    }


def _run_name(request: dict[str, Any]) -> str:
    text = json.dumps(request.get("messages", []))
    start = text.find("chaos-run-")
    return text[start : start + 14].rstrip('\\" :') if start >= 0 else "?"


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=180.0, help="of chaos")
    parser.add_argument("--workers", type=int, default=3, help="task workers")
    parser.add_argument("--lease", type=float, default=10.0, help="LLM_RUN_LEASE_SECONDS")
    parser.add_argument("--timeout-ms", type=int, default=900_000, help="each run's deadline")
    parser.add_argument("--fault-rate", type=float, default=0.1)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    report = run(args)
    if args.json:
        print(json.dumps(report))
        return
    database = "PostgreSQL" if os.environ.get("DATABASE_URL") else "SQLite"
    print(f"{args.runs} background runs, {args.seconds:.0f} s of chaos, {database}")
    for key, value in report.items():
        print(f"  {key:<26} {value}")


if __name__ == "__main__":
    main()
