"""One process of a deployment (``python -m tests.shared_limits_client CALLS``): CALLS
calls to ``openai:loopback`` from 8 threads, configured as a user configures them
(``OPENAI_BASE_URL``, ``LLM_ORCHESTRATOR_RATE_LIMITS``); prints how many succeeded."""

from __future__ import annotations

import sys
from concurrent.futures import ThreadPoolExecutor


def main() -> None:
    from backend.llm import LLMOrchestrator, setup
    from backend.llm.types import LLMRequest

    setup()
    orchestrator = LLMOrchestrator()
    request = LLMRequest(
        feature="pillars",
        operation="validate",
        data={"name": "Core", "description": "Puzzles"},
        model_id="openai:loopback",
        timeout_ms=300_000,
        options={"max_attempts": 1},
    )
    with ThreadPoolExecutor(8) as pool:
        outcomes = list(pool.map(lambda _: orchestrator.execute(request), range(int(sys.argv[1]))))
    print(f"succeeded {len(outcomes)}", flush=True)


if __name__ == "__main__":
    main()
