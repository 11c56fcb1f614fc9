"""No blocking call on an event loop: the suite runs under LangGraph's own detector
(``tests/blocking.py``), and a graph run the way Studio starts it (no collaborators in
the run context, configuration from ``./.env``, nothing resolved yet) completes."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import pytest
from blockbuster import BlockingError

from backend.llm.config import reset_config
from backend.llm.context import RunContext, default_model_manager
from backend.llm.plan_registry import plan_registry
from graphs import compiled_graph
from tests.loopback_openai import loopback_openai

PILLARS = {
    "pillars": [
        {"name": "Every fight is a puzzle", "description": "Combat rewards planning."},
        {"name": "Fast and frantic", "description": "Players react in split seconds."},
    ],
    "context": {"genre": "roguelike"},
}


def test_the_detector_is_on_for_every_test():
    async def blocks() -> None:
        os.getcwd()

    with pytest.raises(BlockingError):
        asyncio.run(blocks())
    os.getcwd()  # off the loop, nothing is detected


@pytest.mark.parametrize(
    ("graph", "operation", "data", "context"),
    [
        ("monolithic", "validate", {"name": "Core", "description": "Puzzles"}, {}),
        ("agentic", "evaluate", PILLARS, {"cross_check_rounds": 1}),
        ("agentic_single_agent", "improve", {"name": "Core", "description": "Puzzles"}, {}),
    ],
)
def test_a_studio_style_run_resolves_its_configuration_off_the_loop(
    graph, operation, data, context, monkeypatch, tmp_path
):
    # As under `langgraph dev`: settings come from ./.env, read lazily by the first node.
    monkeypatch.delenv("LLM_ORCHESTRATOR_ENV_FILE")
    monkeypatch.chdir(tmp_path)
    with loopback_openai() as server:
        (tmp_path / ".env").write_text(
            f"OPENAI_BASE_URL={server.base_url}\nLLM_ORCHESTRATOR_DEFAULT_MODEL=openai:loopback\n"
        )
        reset_config()
        default_model_manager.cache_clear()
        if graph == "monolithic":
            compiled = compiled_graph("monolithic")
        else:
            plan = plan_registry.get("pillars.evaluate") if graph == "agentic" else None
            compiled = compiled_graph("agentic", plan)

        async def run() -> dict[str, Any]:
            try:
                return dict(
                    await compiled.ainvoke(
                        {"feature": "pillars", "operation": operation, "data": data},
                        context=RunContext(**context),
                    )
                )
            finally:  # Studio's loop lives on; this one ends, and its clients with it
                await default_model_manager().aclose_loop(asyncio.get_running_loop())

        output = asyncio.run(run())
    assert output["results"]
    assert all(node["model_id"] == "openai:loopback" for node in output["nodes"])
    assert server.requests
