"""What a fresh event loop adds to a call: ``asyncio.run(aexecute(...))`` per call (a
script, a notebook, an experiment cell) against ``await aexecute(...)`` on one running
loop, same orchestrator, same loopback OpenAI-compatible server (instant answers), in
the same run. Goal: the fresh loop adds <= 5 ms (median)."""

from __future__ import annotations

import argparse
import asyncio
import time

from _common import load_line, median

from backend.llm import setup

setup()

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.config import Config  # noqa: E402
from backend.llm.loopback import loopback_openai  # noqa: E402
from backend.llm.providers import ModelManager  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import PILLAR  # noqa: E402


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    with loopback_openai() as server:
        providers = {"openai": {"base_url": server.base_url}}
        orchestrator = LLMOrchestrator(model_manager=ModelManager(Config(providers=providers)))
        request = LLMRequest(
            feature="pillars", operation="validate", data=PILLAR, model_id="openai:loopback"
        )

        def fresh() -> float:
            started = time.perf_counter()
            asyncio.run(orchestrator.aexecute(request))
            return (time.perf_counter() - started) * 1000

        async def running(calls: int) -> list[float]:
            samples = []
            for _ in range(calls):
                started = time.perf_counter()
                await orchestrator.aexecute(request)
                samples.append((time.perf_counter() - started) * 1000)
            return samples

        for _ in range(20):  # warm up
            fresh()
        fresh_ms: list[float] = []
        running_ms: list[float] = []
        for _ in range(5):  # interleaved, so that machine noise hits both alike
            fresh_ms += [fresh() for _ in range(args.calls // 5)]
            running_ms += asyncio.run(running(args.calls // 5))
    added = median(fresh_ms) - median(running_ms)
    print(f"fresh loop per call:   median {median(fresh_ms):7.2f} ms")
    print(f"running loop per call: median {median(running_ms):7.2f} ms")
    print(f"added by a fresh loop: {added:7.2f} ms  (goal <= 5)")


if __name__ == "__main__":
    main()
