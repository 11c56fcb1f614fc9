"""API overhead: requests per second through POST /api/llm/execute/ (auth, throttling,
validation, a recorded run in SQLite) against calling execute() directly, same instant
fake model, same run: with Django's in-process test client (no sockets), then through
gunicorn with the shipped config (one worker, production settings), one kept-alive
connection. Goal (through gunicorn): <= 2x execute(). Also: SQL statements per request."""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import (
    ROOT,
    api_token,
    free_port,
    interleaved,
    load_line,
    median,
    summary,
    test_model_orchestrator,
    timed,
)

DB = tempfile.NamedTemporaryFile(suffix=".sqlite3", delete=False)  # noqa: SIM115 - lives for the run
os.environ["SQLITE_PATH"] = DB.name
# Throttling stays on (its cost is part of the API's), with limits the bench cannot reach.
os.environ["API_RATE_USER"] = os.environ["API_RATE_LLM_EXECUTE"] = "1000000/s"

from backend.llm import setup  # noqa: E402

setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from backend.llm.types import LLMRequest  # noqa: E402

PAYLOAD = {
    "feature": "pillars",
    "operation": "validate",
    "data": {"name": "Core Mechanic", "description": "Players solve puzzles"},
}


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    call_command("migrate", verbosity=0)
    settings.LLM_ORCHESTRATOR_FACTORY = "_common.test_model_orchestrator"
    token = api_token("bench")
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")

    orchestrator = test_model_orchestrator()
    request = LLMRequest.model_validate(PAYLOAD)

    def through_api() -> None:
        response = client.post("/api/llm/execute/", PAYLOAD, content_type="application/json")
        assert response.status_code == 200, response.content

    sides = {"direct": lambda: orchestrator.execute(request), "api": through_api}
    direct, api = interleaved(sides, args.runs).values()
    print(f"requests per side:            {len(api)}")
    print(f"execute() directly:           {summary(direct)}  ({1000 / median(direct):7.0f} /s)")
    print(f"POST /api/llm/execute/:       {summary(api)}  ({1000 / median(api):7.0f} /s)")
    print(f"API time / direct time:       {median(api) / median(direct):.2f}")

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        through_api()
    print(f"SQL statements per request:   {len(queries.captured_queries)}")

    served, read = through_gunicorn(token, args.runs)
    print(f"through gunicorn:             {summary(served)}  ({1000 / median(served):7.0f} /s)")
    print(f"gunicorn time / direct time:  {median(served) / median(direct):.2f}  (goal <= 2)")
    # What the stack costs before any run: the same authentication, one row read.
    print(f"GET the run, gunicorn:        {summary(read)}  ({1000 / median(read):7.0f} /s)")
    print(f"POST minus GET / direct:      {(median(served) - median(read)) / median(direct):.2f}")
    os.unlink(DB.name)


def through_gunicorn(token: str, runs: int) -> tuple[list[float], list[float]]:
    """Sequential POSTs on one kept-alive connection to gunicorn (shipped config, one
    worker) serving the same database with the same instant model; then as many GETs of
    the last run (authentication and one read: the stack without a run)."""
    port = free_port()
    bench = Path(__file__).resolve().parent
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "gunicorn"), "backend.wsgi"],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": f"{bench}:{ROOT}",
            "DJANGO_SETTINGS_MODULE": "queue_settings",  # the bench's instant model
            "BENCH_MODEL_LATENCY_S": "0",
            "DJANGO_SECRET_KEY": "bench-" + "k" * 50,
            "GUNICORN_BIND": f"127.0.0.1:{port}",
            "GUNICORN_WORKERS": "1",
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    headers = {
        "Authorization": f"Token {token}",
        "Content-Type": "application/json",
        "X-Forwarded-Proto": "https",  # as the TLS proxy in front of it says
    }
    body = json.dumps(PAYLOAD)
    try:
        connection = _connect(port)

        run_ids: list[str] = []

        def post() -> None:
            connection.request("POST", "/api/llm/execute/", body, headers)
            response = connection.getresponse()
            run_ids.append(json.loads(response.read())["run_id"])
            assert response.status == 200, response.status

        def get() -> None:
            connection.request("GET", f"/api/llm/runs/{run_ids[-1]}/", headers=headers)
            response = connection.getresponse()
            response.read()
            assert response.status == 200, response.status

        posts = timed(post, runs)
        return posts, timed(get, runs)
    finally:
        server.terminate()
        server.wait(timeout=30)


def _connect(port: int) -> http.client.HTTPConnection:
    deadline = time.monotonic() + 60
    while True:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request(
                "GET", "/api/llm/operations/", headers={"X-Forwarded-Proto": "https"}
            )
            connection.getresponse().read()
            return connection
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


if __name__ == "__main__":
    main()
