"""LangGraph Studio's server (``langgraph dev``) loads both graphs and runs them offline.

Starts the real dev server as a subprocess on a free port, with its logs outside the
watched tree, and drives it with the ``langgraph-sdk`` client.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from backend.pillars.llm.schemas import PillarsEvaluation, PillarValidation

pytestmark = pytest.mark.embedded

ROOT = Path(__file__).resolve().parent.parent
PILLARS = {
    "pillars": [
        {"name": "Every fight is a puzzle", "description": "Combat rewards planning."},
        {"name": "Fast and frantic", "description": "Players react in split seconds."},
    ],
    "context": {"genre": "roguelike"},
}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def studio_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    port = _free_port()
    log = tmp_path_factory.mktemp("langgraph-dev") / "server.log"
    env = {**os.environ, "LANGSMITH_TRACING": "false", "LANGCHAIN_TRACING_V2": "false"}
    with log.open("w") as out:
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
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if server.poll() is not None:
                pytest.fail(f"langgraph dev exited:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        else:
            pytest.fail(f"langgraph dev did not start:\n{log.read_text()[-3000:]}")
        yield url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


def test_both_graphs_are_served(studio_url):
    from langgraph_sdk import get_sync_client

    with get_sync_client(url=studio_url) as client:
        assistants = {a["graph_id"]: a["assistant_id"] for a in client.assistants.search()}
        assert {"monolithic", "agentic", "agentic_single_agent"} <= set(assistants)
        drawn = client.assistants.get_graph(assistants["agentic"])
    # Studio draws each specialist as a node of its own.
    nodes = {node["id"] for node in drawn["nodes"]}
    assert {"completeness", "contradictions", "context", "cross_check"} <= nodes


@pytest.mark.parametrize(
    ("graph_id", "operation", "data", "schema", "context"),
    [
        (
            "monolithic",
            "validate",
            {"name": "Core", "description": "Players solve puzzles"},
            PillarValidation,
            {"model_id": "local"},
        ),
        (
            "agentic",
            "evaluate",
            PILLARS,
            PillarsEvaluation,
            {"model_id": "local", "cross_check_rounds": 0},
        ),
    ],
)
def test_graph_runs_on_the_embedded_model_through_a_thread(
    studio_url, graph_id, operation, data, schema, context
):
    from langgraph_sdk import get_sync_client

    with get_sync_client(url=studio_url, timeout=180) as client:
        thread = client.threads.create()
        output = client.runs.wait(
            thread["thread_id"],
            graph_id,
            input={"feature": "pillars", "operation": operation, "data": data},
            context=context,
        )
        history = client.threads.get_history(thread["thread_id"])
    assert isinstance(output, dict), output
    schema.model_validate(output["results"])
    assert output["nodes"]
    assert all(node["model_id"].startswith("local:") for node in output["nodes"])
    assert len(history) >= 2
    latest = history[0]["values"]
    assert isinstance(latest, dict)
    assert latest["results"] == output["results"]
