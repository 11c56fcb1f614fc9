"""Agentic mode: parallelism, orchestration overhead, and both modes on the embedded model.

1. Three agents on fake models that take 200 ms each: wall time / slowest agent
   (goal <= 1.1; run one after another it would be 3.0).
2. Overhead against a raw LangGraph fan-out graph of the same shape, instant models,
   medians and ratio in one run (goal <= 1.3).
3. Both modes on the embedded model for the same 4-pillar set: wall time and tokens.
"""

from __future__ import annotations

import argparse
import asyncio
import operator
import time
from typing import Annotated, Any

from _common import interleaved, load_line, median, summary, timed
from pydantic import BaseModel
from typing_extensions import TypedDict

from backend.llm import setup

setup()

from langchain_core.messages import HumanMessage  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from langgraph.types import Send  # noqa: E402

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.testing import (  # noqa: E402
    CallInfo,
    FunctionModel,
    instance_for,
    manager_for,
)
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import EXAMPLES  # noqa: E402
from backend.pillars.llm.schemas import (  # noqa: E402
    CompletenessEvaluation,
    ContextEvaluation,
    ContradictionsEvaluation,
)

PILLARS = EXAMPLES["evaluate"]

SCHEMAS: dict[str, type[BaseModel]] = {
    "completeness": CompletenessEvaluation,
    "contradictions": ContradictionsEvaluation,
    "context": ContextEvaluation,
}


ANSWERS = {name: instance_for(schema) for name, schema in SCHEMAS.items()}


def answer(call: CallInfo) -> Any:
    return instance_for(call.schema or {})


def fake_orchestrator(delay_s: float) -> LLMOrchestrator:
    model = FunctionModel(function=answer, delay_s=delay_s)
    return LLMOrchestrator(model_manager=manager_for(model))


def request(mode: str = "agentic") -> LLMRequest:
    return LLMRequest(
        feature="pillars",
        operation="evaluate",
        data=PILLARS,
        execution_mode=mode,
        options={"cross_check_rounds": 0},
    )


class RawState(TypedDict, total=False):
    agent: str
    findings: Annotated[list[dict[str, Any]], operator.add]
    results: dict[str, Any]


def raw_fan_out_graph() -> Any:
    models = {
        name: FunctionModel(function=lambda call, n=name: ANSWERS[n]).with_structured_output(
            schema.model_json_schema(), method="json_schema"
        )
        for name, schema in SCHEMAS.items()
    }

    def agent(state: RawState) -> dict[str, Any]:
        output = models[state["agent"]].invoke([HumanMessage(state["agent"])])
        return {"findings": [SCHEMAS[state["agent"]].model_validate(output).model_dump()]}

    def merge(state: RawState) -> dict[str, Any]:
        return {"results": {"parts": state["findings"]}}

    builder = StateGraph(RawState)
    builder.add_node("plan", lambda state: {})
    builder.add_node("agent", agent)
    builder.add_node("merge", merge)
    builder.add_edge(START, "plan")
    builder.add_conditional_edges(
        "plan", lambda state: [Send("agent", {"agent": n}) for n in SCHEMAS], ["agent"]
    )
    builder.add_edge("agent", "merge")
    builder.add_edge("merge", END)
    return builder.compile()


def parallelism(runs: int) -> None:
    latency_ms = 200.0
    orchestrator = fake_orchestrator(latency_ms / 1000)
    sync = timed(lambda: orchestrator.execute(request()), runs, warmup=1)
    asynchronous = timed(lambda: asyncio.run(orchestrator.aexecute(request())), runs, warmup=1)
    print("1. three agents, 200 ms each (fake models)")
    for label, samples in (("execute(): ", sync), ("aexecute():", asynchronous)):
        ratio = median(samples) / latency_ms
        print(f"   {label} {summary(samples)}  ratio to slowest agent {ratio:.2f}")
    print("   (goal <= 1.1; sequential would be 3.0)")


def overhead(runs: int) -> None:
    graph = raw_fan_out_graph()
    orchestrator = fake_orchestrator(0.0)
    sides = {"raw": lambda: graph.invoke({}), "facade": lambda: orchestrator.execute(request())}
    raw, facade = interleaved(sides, runs).values()
    print("2. orchestration overhead, instant fake models")
    print(f"   raw LangGraph fan-out:       {summary(raw)}")
    print(f"   execute(mode='agentic'):     {summary(facade)}")
    print(f"   ratio (median):              {median(facade) / median(raw):.2f}  (goal <= 1.3)")


def embedded(runs: int) -> None:
    orchestrator = LLMOrchestrator()
    orchestrator.model_manager.resolve("local").provider.prepare()
    print(f"3. embedded model, 4-pillar set, pillars.evaluate, {runs} runs per mode")
    for mode, rounds in (("monolithic", 0), ("agentic", 0), ("agentic", 1)):
        times, tokens = [], []
        for _ in range(runs):
            started = time.perf_counter()
            response = orchestrator.execute(
                LLMRequest(
                    feature="pillars",
                    operation="evaluate",
                    data=PILLARS,
                    execution_mode=mode,
                    options={"cross_check_rounds": rounds},
                )
            )
            times.append((time.perf_counter() - started) * 1000)
            tokens.append(response.metadata.token_usage)
        label = mode if mode == "monolithic" else f"agentic, {rounds} cross-check round(s)"
        mean_in = sum(t.input_tokens for t in tokens) / runs
        mean_out = sum(t.output_tokens for t in tokens) / runs
        print(f"   {label:36} {summary(times)}  tokens in {mean_in:6.0f} out {mean_out:6.0f}")


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--embedded-runs", type=int, default=3)
    args = parser.parse_args()
    parallelism(max(5, args.runs // 10))
    overhead(args.runs)
    if args.embedded_runs:
        embedded(args.embedded_runs)


if __name__ == "__main__":
    main()
