"""Shared helpers for the benchmark scripts (run from the repository root)."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "backend.settings")


def timed(function: Callable[[], object], runs: int, warmup: int = 5) -> list[float]:
    """Wall times in ms of ``runs`` calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        function()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def interleaved(
    sides: Mapping[str, Callable[[], object]],
    runs: int,
    *,
    warmup: int = 5,
    inside: Mapping[str, Callable[[], AbstractContextManager[object]]] | None = None,
    rounds: int = 5,
) -> dict[str, list[float]]:
    """``timed`` for each side, ``runs`` calls in all, in ``rounds`` alternating batches so
    that machine noise hits every side alike; ``inside[name]``: a context each of that
    side's batches runs in (entered outside the timing)."""
    samples: dict[str, list[float]] = {name: [] for name in sides}
    for _ in range(rounds):
        for name, function in sides.items():
            with (inside or {}).get(name, contextlib.nullcontext)():
                samples[name] += timed(function, runs // rounds, warmup)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def summary(samples: list[float]) -> str:
    return f"median {median(samples):8.3f} ms  p95 {percentile(samples, 0.95):8.3f} ms"


def test_model_orchestrator() -> Any:
    """An orchestrator on the library's test model (answers instantly, schema-valid); also
    the API's ``LLM_ORCHESTRATOR_FACTORY`` in ``api_overhead.py``."""
    from backend.llm import LLMOrchestrator
    from backend.llm.testing import TestModel, manager_for

    return LLMOrchestrator(model_manager=manager_for(TestModel()))


def latency_orchestrator() -> Any:
    """An orchestrator whose model answers (schema-valid) after ``BENCH_MODEL_LATENCY_S``
    seconds (default 0.1): a model call's wait without a model (``queue_throughput.py``)."""
    from backend.llm import LLMOrchestrator
    from backend.llm.testing import TestModel, manager_for

    delay = float(os.environ.get("BENCH_MODEL_LATENCY_S", "0.1"))
    return LLMOrchestrator(model_manager=manager_for(TestModel(delay_s=delay)))


def free_port() -> int:
    """A port on 127.0.0.1 nobody listens on now (for a server the bench starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def api_token(username: str) -> str:
    """The API token of a new user ``username`` who may run operations (Django set up)."""
    from django.contrib.auth.models import Permission, User
    from rest_framework.authtoken.models import Token

    user = User.objects.create_user(username)
    user.user_permissions.add(Permission.objects.get(codename="add_run"))
    return str(Token.objects.create(user=user).key)


def load_line() -> str:
    """The machine's load beside the figures (a shared machine's numbers move with it)."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"
