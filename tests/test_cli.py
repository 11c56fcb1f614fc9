"""``manage.py llm``: operations, models and a real run on the embedded model."""

from __future__ import annotations

import json
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

ROOT = Path(__file__).resolve().parent.parent


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


@pytest.mark.embedded
def test_run_prints_results_and_metadata_from_a_fresh_process():
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
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    payload = json.loads(completed.stdout)
    assert set(payload["results"]) >= {"is_valid", "score", "feedback"}
    assert payload["metadata"]["models_used"] == ["local:smollm2-135m-instruct.q4_1"]
    assert payload["metadata"]["execution_mode"] == "monolithic"
