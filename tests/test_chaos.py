"""A short run of ``bench/chaos.py`` as a user starts it: background runs through
gunicorn and task workers while random workers are killed (SIGKILL) or stopped
(SIGTERM). Every run ends, none is cancelled by a signal, and a failure says why."""

from __future__ import annotations

import json

import pytest

from tests.environment import ROOT
from tests.subprocesses import run_python

pytestmark = pytest.mark.processes


def test_runs_survive_workers_killed_and_stopped_at_random():
    result = run_python(
        [
            "bench/chaos.py",
            "--runs=12",
            "--seconds=15",
            "--lease=3",
            "--timeout-ms=300000",
            "--json",
        ],
        cwd=ROOT,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert sum(report["kills"].values()) >= 3
    assert report["left_active"] == 0, report
    assert report["cancelled"] == 0, report
    outcomes = report["by_outcome"]
    assert sum(outcomes.values()) == 12
    assert all(key == "succeeded" or key.startswith("failed (") for key in outcomes), outcomes
