"""``manage.py llm``: run an operation, list operations and models, recover runs."""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from backend.llm import exceptions
from backend.llm.catalog import describe_operations
from backend.llm.management.subcommands import subcommands
from backend.llm.orchestrator import LLMOrchestrator
from backend.llm.providers import ModelManager
from backend.llm.runs import recover_runs
from backend.llm.types import EXECUTION_MODES, LLMRequest, LLMResponse


class Command(BaseCommand):
    help = "Run LLM orchestrator operations and inspect what is available."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        run = sub.add_parser("run", help="Run one operation and print results and metadata.")
        run.add_argument("operation", help="feature.operation, e.g. pillars.validate")
        run.add_argument("--data", default="{}", help="The operation's input as JSON.")
        run.add_argument("--model", default=None, help="Alias or provider:model (default: local).")
        run.add_argument("--mode", default=None, choices=EXECUTION_MODES)
        run.add_argument("--timeout-ms", type=int, default=None)
        sub.add_parser("operations", help="List registered operations.")
        sub.add_parser("models", help="List aliases and provider status.")
        sub.add_parser(
            "recover",
            help="Queue again (or fail) runs whose process died; for cron, workers do it too.",
        )
        for extra in subcommands().values():
            extra.add_arguments(sub.add_parser(extra.name, help=extra.help))

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        if action in subcommands():
            subcommands()[action].handle(self, options)
        elif action == "operations":
            self._print(describe_operations(schemas=False))
        elif action == "models":
            self._print(ModelManager().describe())
        elif action == "recover":
            self._print({"recovered": recover_runs()})
        else:
            self._run(options)

    def _run(self, options: dict[str, Any]) -> None:
        feature, dot, operation = options["operation"].partition(".")
        if not dot:
            raise CommandError("Write the operation as feature.operation, e.g. pillars.validate")
        try:
            data = json.loads(options["data"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--data is not valid JSON: {exc}") from exc
        try:
            request = LLMRequest.parse(
                {
                    "feature": feature,
                    "operation": operation,
                    "data": data,
                    "model_id": options["model"],
                    "execution_mode": options["mode"],
                    "timeout_ms": options["timeout_ms"],
                }
            )
            response = _interruptible(lambda: LLMOrchestrator().execute(request))
        except exceptions.LLMOrchestratorError as error:
            self.stderr.write(json.dumps({"error": error.to_dict()}, indent=2, default=str))
            raise CommandError(f"{error.code}: {error.message}", returncode=2) from error
        self._print(response.model_dump(mode="json"))

    def _print(self, payload: object) -> None:
        self.stdout.write(json.dumps(payload, indent=2, default=str))


def _interruptible(work: Callable[[], LLMResponse]) -> LLMResponse:
    """``work()`` in a thread, so that Ctrl-C (or SIGTERM) ends the command at once: the
    main thread only waits. Stopping the run means stopping the process (the embedded
    model's server lives in it, and its native threads cannot be interrupted; joining them
    at exit is what hung), so the command says the run was cancelled and exits."""
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:
            outcome["error"] = exc

    def stop(signum: int, frame: FrameType | None) -> None:
        error = exceptions.InvalidRequestError(
            f"The run was cancelled ({signal.strsignal(signum)}).", cancelled=True
        )
        sys.stderr.write(json.dumps({"error": error.to_dict()}, indent=2) + "\n")
        sys.stderr.flush()
        sys.stdout.flush()
        os._exit(130)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        worker = threading.Thread(target=target, name="llm-run", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(timeout=0.1)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    if "error" in outcome:
        raise outcome["error"]
    result: LLMResponse = outcome["value"]
    return result
