"""Orchestrator overhead: execute() in monolithic mode vs a raw one-node LangGraph graph,
both on the same instant fake model, in the same run. Goal: ratio <= 1.3."""

from __future__ import annotations

import argparse
from typing import Any, TypedDict

from _common import median, summary, timed

from backend.llm import setup

setup()

from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.testing import FunctionModel, manager_for  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.schemas import PillarValidation  # noqa: E402

ANSWER = {
    "is_valid": True,
    "score": 80,
    "feedback": "Clear.",
    "issues": [],
    "improved_version": None,
}
DATA = {"name": "Core Mechanic", "description": "Players solve puzzles"}


class RawState(TypedDict, total=False):
    data: dict[str, Any]
    results: dict[str, Any]


def raw_graph() -> Any:
    model = FunctionModel(function=lambda call: ANSWER).with_structured_output(
        PillarValidation.model_json_schema(), method="json_schema"
    )

    def generate(state: RawState) -> dict[str, Any]:
        data = state["data"]
        output = model.invoke(
            [SystemMessage("Review."), HumanMessage(f"{data['name']}: {data['description']}")]
        )
        return {"results": PillarValidation.model_validate(output).model_dump()}

    builder = StateGraph(RawState)
    builder.add_node("generate", generate)
    builder.add_edge(START, "generate")
    builder.add_edge("generate", END)
    return builder.compile()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    graph = raw_graph()
    model = FunctionModel(function=lambda call: ANSWER)
    orchestrator = LLMOrchestrator(model_manager=manager_for(model))
    request = LLMRequest(feature="pillars", operation="validate", data=DATA)

    # Interleave the two so that machine noise hits both alike.
    raw: list[float] = []
    facade: list[float] = []
    for _ in range(5):
        raw += timed(lambda: graph.invoke({"data": DATA}), args.runs // 5)
        facade += timed(lambda: orchestrator.execute(request), args.runs // 5)

    print(f"runs per side:            {len(raw)}")
    print(f"raw LangGraph graph:      {summary(raw)}")
    print(f"orchestrator.execute():   {summary(facade)}")
    print(f"ratio (median):           {median(facade) / median(raw):.2f}  (goal <= 1.3)")


if __name__ == "__main__":
    main()
