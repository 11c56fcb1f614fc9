"""The embedded model: cold start, per-operation latency (p50/p95), peak RSS, and the
same validate call with a competing CPU-bound process beside it.

Goals: cold start <= 3 s, p50 <= 1 s, RSS <= 600 MB; under contention, p95 of validate
within 3x of the quiet p95 (one busy process takes one of the cores).
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time

from _common import load_line, median, percentile

from backend.llm import setup

setup()

from backend.llm import LLMOrchestrator  # noqa: E402
from backend.llm.types import LLMRequest  # noqa: E402
from backend.pillars.llm.examples import EXAMPLES  # noqa: E402

OPERATIONS = {op: data for op, data in EXAMPLES.items() if op != "evaluate"}


def main() -> None:
    print(load_line())
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    orchestrator = LLMOrchestrator()

    def run(operation: str) -> tuple[float, int, int]:
        started = time.perf_counter()
        response = orchestrator.execute(
            LLMRequest(feature="pillars", operation=operation, data=OPERATIONS[operation])
        )
        elapsed = (time.perf_counter() - started) * 1000
        meta = response.metadata
        return elapsed, meta.token_usage.output_tokens, meta.nodes[0].attempts

    started = time.perf_counter()
    orchestrator.model_manager.resolve("local").provider.prepare()
    load_ms = (time.perf_counter() - started) * 1000
    first_ms, first_tokens, _ = run("validate")
    print(f"model load (embedded server start):       {load_ms:8.0f} ms")
    print(f"first validate call ({first_tokens} output tokens):   {first_ms:8.0f} ms")
    print(f"cold start (load + first call):           {load_ms + first_ms:8.0f} ms  (goal <= 3000)")
    print(
        f"{'operation':26} {'p50 ms':>8} {'p95 ms':>8} {'out tok':>8} {'tok/s':>6} {'retries':>7}"
    )
    all_samples: list[float] = []
    for operation in OPERATIONS:
        results = [run(operation) for _ in range(args.runs)]
        samples = [ms for ms, _, _ in results]
        tokens = [tok for _, tok, _ in results]
        retries = sum(attempts - 1 for _, _, attempts in results)
        all_samples += samples
        rate = sum(tokens) / (sum(samples) / 1000)
        print(
            f"{operation:26} {median(samples):8.0f} {percentile(samples, 0.95):8.0f} "
            f"{median([float(t) for t in tokens]):8.0f} {rate:6.0f} {retries:7d}"
        )
    print(f"{'all operations':26} {median(all_samples):8.0f} {percentile(all_samples, 0.95):8.0f}")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS (process incl. embedded server): {peak_mb:.0f} MB  (goal <= 600)")

    quiet = [run("validate")[0] for _ in range(args.runs)]
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.5)
        contended = [run("validate")[0] for _ in range(args.runs)]
    finally:
        busy.kill()
        busy.wait()
    ratio = percentile(contended, 0.95) / percentile(quiet, 0.95)
    print(
        f"validate, quiet:                          p50 {median(quiet):6.0f} ms  p95 "
        f"{percentile(quiet, 0.95):6.0f} ms"
    )
    print(
        f"validate, one busy process beside it:     p50 {median(contended):6.0f} ms  p95 "
        f"{percentile(contended, 0.95):6.0f} ms  (p95 ratio {ratio:.2f}, goal <= 3)"
    )


if __name__ == "__main__":
    main()
