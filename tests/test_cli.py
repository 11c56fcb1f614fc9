"""``manage.py llm``: operations, models and a real run on the embedded model."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.environment import user_environment


def _json(*args: str) -> object:
    out = StringIO()
    call_command("llm", *args, stdout=out)
    return json.loads(out.getvalue())


def test_operations_lists_the_six_pillar_operations():
    listed = _json("operations")
    assert isinstance(listed, list)
    names = {entry["operation"] for entry in listed}
    assert {"pillars.validate", "pillars.evaluate_context"} <= names
    pillars = [entry for entry in listed if entry["operation"].startswith("pillars.")]
    assert all(entry["description"] for entry in pillars)
    evaluate = next(entry for entry in pillars if entry["operation"] == "pillars.evaluate")
    assert evaluate["agentic_plan"] == ["completeness", "contradictions", "context"]


def test_models_lists_aliases_and_configuration(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-canary-cli-0000000000")
    from backend.llm.config import reset_config

    reset_config()
    described = _json("models")
    assert isinstance(described, dict)
    assert described["aliases"]["local"] == "local:default"
    assert described["providers"]["openai"]["configured"] is True
    assert "sk-canary-cli" not in json.dumps(described)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["run", "pillars.validate", "--data", "{nope"], "not valid JSON"),
        (["run", "pillarsvalidate"], "feature.operation"),
        (["run", "pillars.validate", "--data", '{"name": "x"}'], "validation_error"),
        (["run", "pillars.nope"], "unknown_operation"),
        (["run", "pillars.validate", "--model", "claude", "--data", "{}"], "validation_error"),
    ],
)
def test_bad_input_is_a_clear_command_error(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("llm", *args, stdout=StringIO(), stderr=StringIO())


@pytest.mark.processes
@pytest.mark.embedded
def test_run_prints_results_and_metadata_from_a_fresh_process(project_copy):
    # The README's demo command, as a user runs it.
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "llm",
            "run",
            "pillars.validate",
            "--data",
            '{"name": "Core Mechanic", "description": "Players solve puzzles"}',
        ],
        cwd=project_copy,
        env=user_environment(),
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert set(payload["results"]) >= {"is_valid", "score", "feedback"}
    assert payload["metadata"]["models_used"] == ["local:smollm2-135m-instruct.q4_1"]
    assert payload["metadata"]["execution_mode"] == "monolithic"


EVALUATE = json.dumps(
    {
        "pillars": [
            {"name": "Core", "description": "Players solve puzzles"},
            {"name": "Story", "description": "Every level tells part of the tale"},
        ],
        "context": {"genre": "puzzle"},
    }
)


@pytest.mark.processes
@pytest.mark.embedded
@pytest.mark.parametrize(
    ("args", "after_s"),
    [
        # 1 s: Django is up and the embedded llama.cpp server is starting (on a slow disk,
        # Django is still loading: both ends are checked below).
        (["pillars.validate", "--data", '{"name": "C", "description": "P"}'], 1.0),
        # 5 s: the agents of an agentic run are running on the embedded model.
        (["pillars.evaluate", "--mode", "agentic", "--data", EVALUATE], 5.0),
    ],
)
def test_ctrl_c_ends_the_command_within_seconds(args, after_s, project_copy):
    import signal
    import time

    process = subprocess.Popen(
        [sys.executable, "manage.py", "llm", "run", *args],
        cwd=project_copy,
        env=user_environment(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # As in a terminal: a test run started in the background (``make test &``)
        # inherits SIGINT ignored, and so would the command.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    time.sleep(after_s)
    if process.poll() is not None:  # finished first: a fast machine, nothing to stop
        process.communicate()
        return
    sent = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    elapsed = time.monotonic() - sent
    assert process.returncode in (130, -signal.SIGINT), stderr[-2000:]
    if process.returncode == 130:
        # The command's own handler: the run (embedded server start-up included) waits in
        # a thread, so the process ends at once.
        assert elapsed < 5, (elapsed, stderr[-2000:])
        assert "cancelled" in stderr
    else:
        # Still loading Django: Python's own KeyboardInterrupt, once the C call in progress
        # returns (loading a shared library from a cold disk can take seconds).
        assert elapsed < 30, (elapsed, stderr[-2000:])
