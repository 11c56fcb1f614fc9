"""Snapshots of both graphs' drawn shape: a topology change shows up as a diff here.

To accept an intended change: UPDATE_SNAPSHOTS=1 pytest tests/test_graph_shapes.py
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from graphs import agentic, monolithic

SNAPSHOTS = Path(__file__).parent / "snapshots"


@pytest.mark.parametrize(("name", "module"), [("monolithic", monolithic), ("agentic", agentic)])
def test_graph_shape_matches_snapshot(name, module):
    drawn = module.graph.get_graph().draw_mermaid()
    path = SNAPSHOTS / f"{name}.mmd"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(drawn)
    assert drawn == path.read_text()


def test_graphs_are_module_level_compiled_objects_with_context_schemas():
    for module in (monolithic, agentic):
        schema = module.graph.get_context_jsonschema()
        assert "model_id" in schema["properties"]
        assert "models" not in schema["properties"]  # the manager is hidden from Studio
        assert set(module.graph.get_input_jsonschema()["properties"]) == {
            "feature",
            "operation",
            "data",
        }
