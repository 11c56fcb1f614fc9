"""LangSmith tracing as a user turns it on (``LANGSMITH_TRACING=true``): a monolithic and
an agentic run each arrive as one trace, the specialist agents as children of the run;
with tracing off nothing is sent. Against a loopback double of LangSmith's ingest API."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.environment import ROOT, user_environment
from tests.langsmith_double import LangSmithDouble, langsmith_double
from tests.loopback_openai import loopback_openai

pytestmark = pytest.mark.processes

PILLARS: dict[str, Any] = {
    "pillars": [
        {"name": "Core", "description": "Puzzles open the world"},
        {"name": "Story", "description": "Every run tells a story"},
    ],
    "context": {"genre": "roguelike", "platform": "PC"},
}


def _cli_run(double: LangSmithDouble, tracing: bool, *args: str) -> None:
    with loopback_openai() as server:
        settings = {
            "LANGSMITH_TRACING": "true",
            "LANGSMITH_ENDPOINT": double.endpoint,
            "LANGSMITH_API_KEY": "ls-test-key",
        }
        result = subprocess.run(
            [sys.executable, "manage.py", "llm", "run", "--model", "openai:loopback", *args],
            cwd=ROOT,
            env=user_environment(OPENAI_BASE_URL=server.base_url, **(settings if tracing else {})),
            capture_output=True,
            text=True,
            timeout=300,
        )
    assert result.returncode == 0, result.stderr[-2000:]


def _traces(runs: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The runs sent, once each (a run's post and its patch both name it), by trace."""
    unique = {run["id"]: run for run in runs if "name" in run and "trace_id" in run}
    traces: dict[str, list[dict[str, Any]]] = {}
    for run in unique.values():
        traces.setdefault(str(run["trace_id"]), []).append(run)
    return traces


def test_an_agentic_run_is_one_trace_with_the_specialists_as_children():
    with langsmith_double() as double:
        _cli_run(
            double, True, "pillars.evaluate", "--mode", "agentic", "--data", json.dumps(PILLARS)
        )
    (trace,) = _traces(double.runs).values()
    (root,) = [run for run in trace if not run.get("parent_run_id")]
    names = {run["name"] for run in trace}
    assert {"completeness", "contradictions", "context"} <= names
    by_id = {run["id"]: run for run in trace}
    for run in trace:
        assert _root_of(run, by_id) == root["id"]
    agents = [run for run in trace if run["name"] in ("completeness", "contradictions", "context")]
    assert {by_id[run["parent_run_id"]]["name"] for run in agents} <= {
        root["name"],
        "completeness",
        "contradictions",
        "context",
    }


def test_a_monolithic_run_is_one_trace():
    with langsmith_double() as double:
        _cli_run(double, True, "pillars.validate", "--data", json.dumps(PILLARS["pillars"][0]))
    (trace,) = _traces(double.runs).values()  # one trace
    assert len([run for run in trace if not run.get("parent_run_id")]) == 1
    assert "generate" in {run["name"] for run in trace}
    assert "ls-test-key" not in json.dumps(double.runs)


def test_with_tracing_off_nothing_is_sent():
    with langsmith_double() as double:
        _cli_run(double, False, "pillars.validate", "--data", json.dumps(PILLARS["pillars"][0]))
    assert double.requests == 0
    assert double.runs == []


def _root_of(run: dict[str, Any], by_id: dict[str, dict[str, Any]]) -> str:
    while run.get("parent_run_id"):
        run = by_id[run["parent_run_id"]]
    return str(run["id"])
