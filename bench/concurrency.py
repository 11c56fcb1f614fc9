"""Many concurrent calls: ``aexecute`` against a raw LangGraph graph, same server, same run.

N concurrent ``orchestrator.aexecute(...)`` calls (``openai:`` provider) against the
loopback OpenAI-compatible server (``backend.llm.loopback``, 100 ms per answer, in a
process of its own so that its CPU is not counted), next to N concurrent runs of a
one-node LangGraph graph calling ``ChatOpenAI(...).with_structured_output(Schema,
method="json_schema")`` by hand. Paired repeats (the order alternates); wall time, client
CPU per call, and the ratio ours / raw. Goal: ratio <= 1.05 at every N. Then the client
rate limit: N calls at 50 requests/s should take about N / 50 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict

from _common import ROOT, load_line

from backend.llm import setup

setup()

from langchain_core.messages import HumanMessage, SystemMessage  # noqa: E402
from langgraph.graph import END, START, StateGraph  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.config import Config  # noqa: E402
from backend.llm.providers import ModelManager  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import PILLAR  # noqa: E402
from backend.pillars.llm.schemas import PillarValidation  # noqa: E402

Side = Callable[[int], Awaitable[None]]


class RawState(TypedDict, total=False):
    data: dict[str, Any]
    results: dict[str, Any]


def raw_side(base_url: str) -> Side:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(
        model="loopback", base_url=base_url, api_key=SecretStr("bench"), max_retries=0
    ).with_structured_output(PillarValidation, method="json_schema")

    async def generate(state: RawState) -> dict[str, Any]:
        data = state["data"]
        output = await model.ainvoke(
            [SystemMessage("Review."), HumanMessage(f"{data['name']}: {data['description']}")]
        )
        return {"results": PillarValidation.model_validate(output).model_dump()}

    builder = StateGraph(RawState)
    builder.add_node("generate", generate)
    builder.add_edge(START, "generate")
    builder.add_edge("generate", END)
    graph = builder.compile()

    async def run(n: int) -> None:
        await asyncio.gather(*(graph.ainvoke({"data": PILLAR}) for _ in range(n)))

    return run


def orchestrator_side(base_url: str, **config: Any) -> Side:
    providers = {"openai": {"base_url": base_url, "api_key": "bench"}}
    orchestrator = LLMOrchestrator(
        model_manager=ModelManager(Config(providers=providers, **config))
    )
    request = LLMRequest(
        feature="pillars",
        operation="validate",
        data=PILLAR,
        model_id="openai:loopback",
        timeout_ms=600_000,
    )

    async def run(n: int) -> None:
        await asyncio.gather(*(orchestrator.aexecute(request) for _ in range(n)))

    return run


async def measure(side: Side, n: int) -> tuple[float, float]:
    """Wall seconds and client CPU ms per call of ``n`` concurrent calls. One event loop
    for the whole benchmark: LangChain's raw ``ChatOpenAI`` shares its async client
    across loops and fails in a second one ("Event loop is closed")."""
    wall, cpu = time.perf_counter(), time.process_time()
    await side(n)
    return time.perf_counter() - wall, (time.process_time() - cpu) * 1000 / n


def main() -> None:
    print(load_line())
    asyncio.run(amain())


async def amain() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", type=int, nargs="+", default=[50, 200, 500, 1000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--delay", type=float, default=0.1, help="server seconds per answer")
    parser.add_argument("--rate-limit-calls", type=int, default=200)
    args = parser.parse_args()

    server = subprocess.Popen(
        [sys.executable, "-m", "backend.llm.loopback", "--delay", str(args.delay)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        sides = {"raw": raw_side(base_url), "ours": orchestrator_side(base_url)}
        for side in sides.values():  # warm up: imports, clients, compiled graphs
            await measure(side, 20)
        print(f"server latency {args.delay * 1000:.0f} ms; {args.repeats} paired repeats")
        print(
            f"{'N':>6} {'raw wall s':>11} {'ours wall s':>12} {'ratio':>6} "
            f"{'raw CPU ms/call':>16} {'ours CPU ms/call':>17}"
        )
        for n in args.sizes:
            results: dict[str, list[tuple[float, float]]] = {"raw": [], "ours": []}
            ratios = []
            for repeat in range(args.repeats):
                order = ["raw", "ours"] if repeat % 2 == 0 else ["ours", "raw"]
                for name in order:
                    results[name].append(await measure(sides[name], n))
                ratios.append(results["ours"][-1][0] / results["raw"][-1][0])
            raw_wall = statistics.median(w for w, _ in results["raw"])
            ours_wall = statistics.median(w for w, _ in results["ours"])
            raw_cpu = statistics.median(c for _, c in results["raw"])
            ours_cpu = statistics.median(c for _, c in results["ours"])
            print(
                f"{n:>6} {raw_wall:>11.2f} {ours_wall:>12.2f} {statistics.median(ratios):>6.2f} "
                f"{raw_cpu:>16.2f} {ours_cpu:>17.2f}"
            )
        print("goal: ratio <= 1.05 at every N")

        n = args.rate_limit_calls
        limited = orchestrator_side(base_url, rate_limits={"openai": {"rps": 50}})
        wall, cpu = await measure(limited, n)
        print(
            f"rate limit 50 requests/s, {n} calls: {wall:.2f} s "
            f"(the limit alone allows {n / 50:.2f} s), {cpu:.2f} ms CPU per call"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


if __name__ == "__main__":
    main()
