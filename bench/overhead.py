"""Orchestrator overhead: execute() in monolithic mode vs a raw one-node LangGraph graph,
both on the same instant fake model, in the same run. Goal: ratio <= 1.3. Then the cost
of observability: execute() with OpenTelemetry tracing (batch export) and JSON run-event
logs on, against the same with them off (metrics are always on). Goal: <= 1.1. Beside it,
the floor: the same spans and log lines made directly with the SDK."""

from __future__ import annotations

import argparse
import contextlib
import io
import logging
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

from _common import interleaved, load_line, median, summary

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


@contextlib.contextmanager
def observed() -> Iterator[None]:
    """Tracing (an SDK provider exporting in batches to a sink) and JSON event logs on."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from backend.llm.observability import JsonFormatter, RunIdFilter

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(InMemorySpanExporter()))
    handler = logging.StreamHandler(io.StringIO())
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RunIdFilter())
    events = logging.getLogger("backend.llm.events")
    previous = trace._TRACER_PROVIDER, events.level, events.handlers
    trace._TRACER_PROVIDER = provider  # the process-wide provider is set once; swapped here
    events.handlers = [handler]  # as in production: one JSON handler
    events.setLevel(logging.INFO)
    try:
        yield
    finally:
        trace._TRACER_PROVIDER, level, events.handlers = previous
        events.setLevel(level)
        provider.shutdown()


def sdk_floor() -> None:
    """What the SDK and the log handler cost for one monolithic run's telemetry alone: the
    same three nested spans with as many attributes, and the same two log lines."""
    from opentelemetry import context, trace

    from backend.llm.observability._logs import log_event

    tracer = trace.get_tracer_provider().get_tracer("floor")
    log_event("run.start", run_id="r", operation="pillars.validate", mode="monolithic")
    run = tracer.start_span("llm.run", attributes={f"run.{i}": str(i) for i in range(5)})
    run_token = context.attach(trace.set_span_in_context(run))
    node = tracer.start_span("llm.node generate", attributes={"llm.node": "generate"})
    node_token = context.attach(trace.set_span_in_context(node))
    chat = tracer.start_span("chat m", attributes={f"chat.{i}": str(i) for i in range(5)})
    chat.set_attributes({f"usage.{i}": i for i in range(4)})
    chat.end()
    node.set_attributes({f"node.{i}": i for i in range(11)})
    node.end()
    context.detach(node_token)
    run.set_attributes({f"outcome.{i}": i for i in range(5)})
    run.end()
    context.detach(run_token)
    log_event("run.end", run_id="r", status="succeeded", duration_ms=1, attempts=1)


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=300)
    args = parser.parse_args()

    graph = raw_graph()
    model = FunctionModel(function=lambda call: ANSWER)
    orchestrator = LLMOrchestrator(model_manager=manager_for(model))
    request = LLMRequest(feature="pillars", operation="validate", data=DATA)

    sides: dict[str, Callable[[], object]] = {
        "raw": lambda: graph.invoke({"data": DATA}),
        "facade": lambda: orchestrator.execute(request),
    }
    raw, facade = interleaved(sides, args.runs).values()

    print(f"runs per side:            {len(raw)}")
    print(f"raw LangGraph graph:      {summary(raw)}")
    print(f"orchestrator.execute():   {summary(facade)}")
    print(f"ratio (median):           {median(facade) / median(raw):.2f}  (goal <= 1.3)")

    on = {"traced": observed, "floor": observed}
    telemetry = {"quiet": sides["facade"], "traced": sides["facade"], "floor": sdk_floor}
    quiet, traced, floor = interleaved(telemetry, args.runs, inside=on).values()
    print(f"observability off:        {summary(quiet)}")
    print(f"tracing + JSON logs on:   {summary(traced)}")
    print(f"ratio (median):           {median(traced) / median(quiet):.2f}  (goal <= 1.1)")
    print(f"added per run:            {median(traced) - median(quiet):.3f} ms")
    # A tight loop keeps the SDK hot in the CPU's caches: a floor, below what a run sees.
    print(f"SDK + logging alone:      {summary(floor)}")
    print(f"floor ratio:              {(median(quiet) + median(floor)) / median(quiet):.2f}")

    # The same against a model that answers in 5 ms (a fast hosted API is slower still).
    slow = LLMOrchestrator(
        model_manager=manager_for(FunctionModel(function=lambda call: ANSWER, delay_s=0.005))
    )
    slow_sides = {"quiet": lambda: slow.execute(request), "traced": lambda: slow.execute(request)}
    quiet, traced = interleaved(slow_sides, args.runs // 5, warmup=1, inside=on).values()
    print(f"5 ms model, off:          {summary(quiet)}")
    print(f"5 ms model, on:           {summary(traced)}")
    print(f"ratio (median):           {median(traced) / median(quiet):.2f}  (goal <= 1.1)")


if __name__ == "__main__":
    main()
