"""Snapshots of the graphs' drawn shape: a topology change shows up as a diff here.

To accept an intended change: UPDATE_SNAPSHOTS=1 pytest tests/test_graph_shapes.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from backend.llm.plan_registry import plan_registry
from graphs import compiled_graph

SNAPSHOTS = Path(__file__).parent / "snapshots"


def graphs():
    return {
        "monolithic": compiled_graph("monolithic"),
        "agentic": compiled_graph("agentic", plan_registry.get("pillars.evaluate")),
        "agentic_single_agent": compiled_graph("agentic", None),
    }


@pytest.mark.parametrize("name", ["monolithic", "agentic", "agentic_single_agent"])
def test_graph_shape_matches_snapshot(name):
    drawn = graphs()[name].get_graph().draw_mermaid()
    path = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(drawn)
    assert drawn == path.read_text()


def test_the_specialists_are_named_nodes():
    nodes = set(graphs()["agentic"].get_graph().nodes)
    assert {"completeness", "contradictions", "context", "cross_check"} <= nodes


def test_graphs_are_compiled_once_and_cached():
    plan = plan_registry.get("pillars.evaluate")
    assert compiled_graph("agentic", plan) is compiled_graph("agentic", plan)
    # Every operation without a plan shares the single-agent graph.
    assert compiled_graph("agentic", plan_registry.get("pillars.validate")) is compiled_graph(
        "agentic", None
    )


def test_graphs_carry_context_and_input_schemas_for_studio():
    for graph in graphs().values():
        schema = graph.get_context_jsonschema()
        assert "model_id" in schema["properties"]
        hidden = {"models", "handlers", "plans"}
        assert not hidden & set(schema["properties"])  # collaborators are hidden from Studio
        assert set(graph.get_input_jsonschema()["properties"]) == {"feature", "operation", "data"}
