"""Entry module for LangGraph Studio (``langgraph.json``): the compiled graphs, with the
Django apps set up so that operations and agent plans are registered.

Only this module has a side effect on import, by design: it is what ``langgraph dev``
loads (in a worker thread, before any run). Everything else builds graphs through the
factories in ``graphs``. The configuration (``.env`` included) and the model manager that
Studio runs use are resolved here, so that no run reads files on the server's event loop.
"""

from __future__ import annotations

from backend.llm import setup

setup()

from backend.llm.context import default_model_manager  # noqa: E402
from backend.llm.plan_registry import plan_registry  # noqa: E402
from graphs import compiled_graph  # noqa: E402

default_model_manager().build_providers()

__all__ = ["agentic", "agentic_single_agent", "monolithic"]

monolithic = compiled_graph("monolithic")
#: The pillar review: completeness, contradictions and context agents, then cross-check.
agentic = compiled_graph("agentic", plan_registry.get("pillars.evaluate"))
#: Any operation without a plan, as one agent node.
agentic_single_agent = compiled_graph("agentic", None)
