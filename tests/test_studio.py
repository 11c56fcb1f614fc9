"""LangGraph Studio's server (``langgraph dev``) loads the graphs and runs them, as a user
starts it: from a copy of the project with a ``.env`` made from ``.env.example`` (as the
README says), the README's command, none of the suite's own variables, and the server's
blocking-call detector on (no ``--allow-blocking``). Driven with ``langgraph-sdk``."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from backend.pillars.llm.schemas import PillarImprovement, PillarsEvaluation, PillarValidation
from tests.environment import user_environment

pytestmark = [pytest.mark.embedded, pytest.mark.processes]

PILLARS = {
    "pillars": [
        {"name": "Every fight is a puzzle", "description": "Combat rewards planning."},
        {"name": "Fast and frantic", "description": "Players react in split seconds."},
    ],
    "context": {"genre": "roguelike"},
}
PILLAR = {"name": "Core", "description": "Players solve puzzles"}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def studio(project_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    shutil.copy(project_copy / ".env.example", project_copy / ".env")
    port = _free_port()
    log = tmp_path_factory.mktemp("langgraph-dev") / "server.log"  # outside the copy
    with log.open("w") as out:
        # The README's command: LANGSMITH_TRACING=false .venv/bin/langgraph dev --no-browser
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "langgraph"),
                "dev",
                "--no-browser",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
            ],
            cwd=project_copy,
            env=user_environment(LANGSMITH_TRACING="false"),
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"langgraph dev exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert "BlockingError" not in log.read_text()


def test_studio_serves_the_graphs_and_runs_each_to_completion(studio):
    from langgraph_sdk import get_sync_client

    runs: list[tuple[str, str, dict[str, Any], type[BaseModel], dict[str, Any]]] = [
        ("monolithic", "validate", PILLAR, PillarValidation, {"model_id": "local"}),
        ("agentic", "evaluate", PILLARS, PillarsEvaluation, {"model_id": "local"}),
        ("agentic_single_agent", "improve", PILLAR, PillarImprovement, {"model_id": "local"}),
    ]
    with get_sync_client(url=studio, timeout=300) as client:
        assistants = {a["graph_id"]: a["assistant_id"] for a in client.assistants.search()}
        assert {"monolithic", "agentic", "agentic_single_agent"} <= set(assistants)
        # Studio draws each specialist as a node of its own.
        drawn = client.assistants.get_graph(assistants["agentic"])
        nodes = {node["id"] for node in drawn["nodes"]}
        assert {"completeness", "contradictions", "context", "cross_check"} <= nodes

        for graph_id, operation, data, schema, context in runs:
            thread = client.threads.create()
            output = client.runs.wait(
                thread["thread_id"],
                graph_id,
                input={"feature": "pillars", "operation": operation, "data": data},
                context=context,
                raise_error=False,
            )
            assert isinstance(output, dict), (graph_id, output)
            assert "results" in output, (graph_id, output)
            schema.model_validate(output["results"])
            assert all(node["model_id"].startswith("local:") for node in output["nodes"])
            history: list[Any] = list(client.threads.get_history(thread["thread_id"]))
            assert len(history) >= 2
            assert history[0]["values"]["results"] == output["results"]
            if graph_id == "agentic":
                ran = {node["node"] for node in output["nodes"]}
                assert {"agent:completeness", "agent:contradictions", "agent:context"} <= ran
