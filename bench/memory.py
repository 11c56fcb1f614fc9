"""Memory per call of a long-lived process: RSS growth per call, after a warm-up, for the
same request every time and for requests whose deadline and temperature all differ (as
any API client may send), through ``execute`` and through ``asyncio.run(aexecute)``
(a fresh event loop per call, as a script or a notebook does).

The loopback OpenAI-compatible server runs in a process of its own (it keeps a log of
every request, which is not ours). Goal: < 4 KB per call, i.e. flat, in every row; also
printed: open file descriptors, models cached, and clients still open.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from _common import ROOT, load_line

from backend.llm import setup

setup()

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.config import Config  # noqa: E402
from backend.llm.providers import ModelManager  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import PILLAR  # noqa: E402


def rss_kb() -> float:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1024


def request(index: int, varied: bool) -> LLMRequest:
    return LLMRequest(
        feature="pillars",
        operation="validate",
        data=PILLAR,
        model_id="openai:loopback",
        timeout_ms=60_000 + (index if varied else 0),
        options={"max_attempts": 1, "temperature": (index % 997) / 997 if varied else 0.2},
    )


def measure(call: Callable[[LLMRequest], object], varied: bool, calls: int) -> float:
    for index in range(50):  # warm up: what a process builds once and keeps
        call(request(index, varied))
    gc.collect()
    before = rss_kb()
    for index in range(calls):
        call(request(50 + index, varied))
    gc.collect()
    return (rss_kb() - before) / calls


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    args = parser.parse_args()
    server = subprocess.Popen(
        [sys.executable, "-m", "backend.llm.loopback"], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        manager = ModelManager(Config(providers={"openai": {"base_url": base_url}}))
        orchestrator = LLMOrchestrator(model_manager=manager)
        provider = manager.provider("openai")

        def blocking(req: LLMRequest) -> object:
            return orchestrator.execute(req)

        def fresh_loop(req: LLMRequest) -> object:
            return asyncio.run(orchestrator.aexecute(req))

        print(f"{args.calls} calls per row after 50 warm-up calls; goal < 4 KB per call")
        print(f"{'path':<28} {'requests':<8} {'KB/call':>8} {'fds':>4} {'cached':>6} {'open':>5}")
        for name, call in (("execute()", blocking), ("asyncio.run(aexecute())", fresh_loop)):
            for varied in (False, True):
                growth = measure(call, varied, args.calls)
                fds = len(os.listdir("/proc/self/fd"))
                print(
                    f"{name:<28} {'varied' if varied else 'same':<8} {growth:8.1f} {fds:4d} "
                    f"{len(provider.models):6d} {provider.models.open_clients():5d}"
                )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
