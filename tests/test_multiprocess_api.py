"""The API served by two web processes with two task workers, on the test database, as
deployed: limits hold across processes and a burst of background runs all finish."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from django.db import connection
from rest_framework.authtoken.models import Token

from backend.llm.models import Run
from tests.environment import ROOT, user_environment
from tests.test_api import EXECUTE, make_user

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.processes]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def environment(**extra: str) -> dict[str, str]:
    # A user's environment, but for the settings: the processes share the test database.
    return user_environment(
        DJANGO_SETTINGS_MODULE="tests.worker_settings",
        WORKER_DB_NAME=str(connection.settings_dict["NAME"]),
        **extra,
    )


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[str]]]:
    started: list[subprocess.Popen[str]] = []
    yield started
    stop_servers(started)


def stop_servers(started: list[subprocess.Popen[str]]) -> None:
    """Stop the processes and print the end of their output (shown if a test failed)."""
    for process in started:
        if process.poll() is None:
            process.terminate()
    for process in started:
        try:
            output, _ = process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            output, _ = process.communicate()
        log = LOGS.pop(process.pid, None)
        if log is not None:
            log.seek(0)
            output = log.read().decode(errors="replace")
            log.close()
        print((output or "")[-3000:])


#: Where each web server writes its log (a file: a pipe nobody reads until the end would
#: fill up and block the server once it has logged 64 KiB).
LOGS: dict[int, Any] = {}


def web_servers(processes: list[Any], count: int, **env: str) -> list[str]:
    urls = []
    for _ in range(count):
        port = free_port()
        # As deployed: gunicorn with the project's gunicorn.conf.py (production settings).
        log = tempfile.TemporaryFile()  # noqa: SIM115 - closed by stop_servers
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "backend.wsgi"],
            cwd=ROOT,
            env=environment(
                GUNICORN_BIND=f"127.0.0.1:{port}",
                GUNICORN_WORKERS="1",
                DJANGO_SECRET_KEY="test-secret-" + "k" * 50,
                **env,
            ),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        LOGS[server.pid] = log
        processes.append(server)
        urls.append(f"http://127.0.0.1:{port}")
    deadline = time.monotonic() + 120
    for url in urls:
        while True:
            try:
                probe = urllib.request.Request(
                    f"{url}/api/llm/operations/", headers={"X-Forwarded-Proto": "https"}
                )
                urllib.request.urlopen(probe, timeout=5)
            except urllib.error.HTTPError:
                break  # 401: it answers
            except OSError:
                assert time.monotonic() < deadline, "web server did not start"
                time.sleep(0.2)
    return urls


def post(url: str, token: str, body: dict[str, Any], **headers: str) -> tuple[int, Any]:
    request = urllib.request.Request(
        f"{url}/api/llm/execute/",
        data=json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            "Authorization": f"Token {token}",
            "X-Forwarded-Proto": "https",  # as the TLS proxy in front of gunicorn says
            **headers,
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def async_with_key(key: str) -> dict[str, str]:
    return {"Prefer": "respond-async", "Idempotency-Key": key}


def test_the_execute_throttle_holds_across_two_web_processes(processes):
    token = Token.objects.create(user=make_user("alice")).key
    # Per day: a fixed window that a minute boundary cannot split during the test.
    urls = web_servers(processes, 2, API_RATE_LLM_EXECUTE="10/day")
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda i: post(urls[i % 2], token, EXECUTE)[0], range(30)))
    assert statuses.count(200) == 10, statuses
    assert statuses.count(429) == 20


def test_200_background_runs_through_two_web_and_two_task_processes(processes):
    token = Token.objects.create(user=make_user("alice")).key
    urls = web_servers(processes, 2, API_RATE_LLM_EXECUTE="10000/min", API_RATE_USER="10000/min")
    with ThreadPoolExecutor(16) as pool:
        answers = list(
            pool.map(
                lambda i: post(
                    urls[i % 2],
                    token,
                    EXECUTE,
                    Prefer="respond-async",
                    **{"Idempotency-Key": f"k{i}"},
                ),
                range(200),
            )
        )
    assert [status for status, _ in answers].count(202) == 200, [a for a in answers if a[0] != 202][
        :3
    ]
    workers = [
        subprocess.Popen(
            [sys.executable, "manage.py", "db_worker", "--batch", "--no-startup-delay"],
            cwd=ROOT,
            env=environment(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for _ in range(2)
    ]
    processes.extend(workers)
    outputs = [worker.communicate(timeout=600)[0] for worker in workers]
    assert all(worker.returncode == 0 for worker in workers), outputs
    assert Run.objects.count() == 200
    assert Run.objects.filter(status=Run.Status.SUCCEEDED).count() == 200
    assert not any("database is locked" in output for output in outputs)


def test_50_parallel_posts_with_one_key_make_one_run(processes):
    token = Token.objects.create(user=make_user("alice")).key
    urls = web_servers(processes, 2, API_RATE_LLM_EXECUTE="10000/min", API_RATE_USER="10000/min")
    with ThreadPoolExecutor(16) as pool:
        answers = list(
            pool.map(
                lambda i: post(urls[i % 2], token, EXECUTE, **{"Idempotency-Key": "one"}),
                range(50),
            )
        )
    assert {status for status, _ in answers} <= {200, 202}, answers[:3]
    assert len({body["run_id"] for _, body in answers}) == 1
    run = Run.objects.get()
    assert run.status == Run.Status.SUCCEEDED
    assert run.metadata is not None
    assert run.metadata["nodes"][0]["attempts"] == 1  # one model call
