"""Many concurrent calls: ``aexecute`` against a raw LangGraph graph and against the bare
OpenAI SDK making the same structured call, same server, same run.

N concurrent ``orchestrator.aexecute(...)`` calls (``openai:`` provider) against the
loopback OpenAI-compatible server (``backend.llm.loopback``, 100 ms per answer, in a
process of its own so that its CPU is not counted), next to N concurrent runs of a
one-node LangGraph graph calling ``ChatOpenAI(...).with_structured_output(Schema,
method="json_schema")`` by hand, and N concurrent ``AsyncOpenAI().chat.completions.parse``
calls. Repeats rotate the order; wall time, client CPU per call, and ours / each side.
Goals: ours / raw <= 1.05, ours / SDK <= 1.3 at every N. Then the client rate limit: N
calls at 50 requests/s should take about N / 50 s.
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


def sdk_side(base_url: str) -> Side:
    """The bare OpenAI SDK making the same structured call: the floor a client can reach."""
    import openai

    client = openai.AsyncOpenAI(base_url=base_url, api_key="bench", max_retries=0)
    messages: Any = [
        {"role": "system", "content": "Review."},
        {"role": "user", "content": f"{PILLAR['name']}: {PILLAR['description']}"},
    ]

    async def one() -> None:
        completion = await client.chat.completions.parse(
            model="loopback", messages=messages, response_format=PillarValidation
        )
        assert completion.choices[0].message.parsed is not None

    async def run(n: int) -> None:
        await asyncio.gather(*(one() for _ in range(n)))

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
    parser.add_argument(
        "--gc-freeze", action="store_true", help="gc.freeze() after the warm-up (a lever)"
    )
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
        sides = {
            "raw": raw_side(base_url),
            "sdk": sdk_side(base_url),
            "ours": orchestrator_side(base_url),
        }
        for side in sides.values():  # warm up: imports, clients, compiled graphs
            await measure(side, 20)
        if args.gc_freeze:
            import gc

            gc.collect()
            gc.freeze()  # what the warm-up built is never scanned again
        print(f"gc.freeze() after warm-up: {args.gc_freeze}")
        print(f"server latency {args.delay * 1000:.0f} ms; {args.repeats} rotated repeats")
        print(
            f"{'N':>6} {'side':>5} {'wall s':>8} {'CPU ms/call':>12} "
            f"{'ours/side wall':>15} {'ours/side CPU':>14}"
        )
        for n in args.sizes:
            results: dict[str, list[tuple[float, float]]] = {name: [] for name in sides}
            for repeat in range(args.repeats):
                order = list(sides)[repeat % 3 :] + list(sides)[: repeat % 3]
                for name in order:
                    results[name].append(await measure(sides[name], n))
            wall = {name: statistics.median(w for w, _ in rows) for name, rows in results.items()}
            cpu = {name: statistics.median(c for _, c in rows) for name, rows in results.items()}
            for name in sides:
                print(
                    f"{n:>6} {name:>5} {wall[name]:>8.2f} {cpu[name]:>12.2f} "
                    f"{wall['ours'] / wall[name]:>15.2f} {cpu['ours'] / cpu[name]:>14.2f}"
                )
        print("goals: ours/raw <= 1.05; ours/sdk <= 1.3 (wall and CPU per call)")

        n = args.rate_limit_calls
        limited = orchestrator_side(base_url, rate_limits={"openai": {"rps": 50}})
        limited_wall, limited_cpu = await measure(limited, n)
        print(
            f"rate limit 50 requests/s, {n} calls: {limited_wall:.2f} s "
            f"(the limit alone allows {n / 50:.2f} s), {limited_cpu:.2f} ms CPU per call"
        )
    finally:
        server.terminate()
        server.wait(timeout=10)
        if server.stdout is not None:
            server.stdout.close()


if __name__ == "__main__":
    main()
