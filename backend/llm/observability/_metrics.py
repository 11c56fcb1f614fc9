"""Prometheus metrics of the orchestrator, built on first use (no import side effects).

Names follow Prometheus conventions (units in names, ``_total`` counters); every label
set is bounded: operations, modes, statuses, providers and error codes are finite, and a
model label takes at most ``MAX_MODEL_LABELS`` distinct values per process (then
``other``): a client choosing a new model name per request cannot grow the series.
Several processes (gunicorn workers, task workers) on one machine share their values
through ``PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode).
"""

from __future__ import annotations

import functools
import threading

from prometheus_client import Counter, Histogram

__all__ = ["MAX_MODEL_LABELS", "Metrics", "bounded_model", "metrics"]

MAX_MODEL_LABELS = 50
_SECONDS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900)


class Metrics:
    def __init__(self) -> None:
        self.runs = Counter(
            "llm_runs", "Runs by final status.", ["operation", "mode", "model", "status"]
        )
        self.run_seconds = Histogram(
            "llm_run_duration_seconds", "Run duration.", ["operation", "mode"], buckets=_SECONDS
        )
        self.node_seconds = Histogram(
            "llm_node_duration_seconds",
            "Graph node duration.",
            ["node", "status"],
            buckets=_SECONDS,
        )
        self.model_calls = Counter(
            "llm_model_calls", "Calls to a model (every try).", ["provider", "model"]
        )
        self.retries = Counter(
            "llm_retries", "Calls tried again after a transient error.", ["provider", "error"]
        )
        self.fallbacks = Counter(
            "llm_fallbacks", "Models given up on for the next one.", ["provider", "error"]
        )
        self.errors = Counter("llm_errors", "Typed errors.", ["provider", "error"])
        self.tokens = Counter("llm_tokens", "Tokens used.", ["provider", "model", "direction"])
        self.cost = Counter("llm_cost_usd", "Cost of the tokens used.", ["provider", "model"])
        self.lease_lapses = Counter(
            "llm_lease_lapses",
            "Runs whose process stopped renewing their lease (worker_lost).",
            ["outcome"],
        )
        self.hand_backs = Counter("llm_hand_backs", "Runs handed back by a stopping worker.")
        self.cancellations = Counter("llm_cancellations", "Runs cancelled by their owner.")
        self.throttled = Counter("llm_throttled_requests", "Requests refused 429.", ["scope"])


@functools.cache
def metrics() -> Metrics:
    return Metrics()


_models: set[str] = set()
_models_lock = threading.Lock()


def bounded_model(model_id: str | None) -> str:
    """``model_id`` as a label value: one of the first ``MAX_MODEL_LABELS`` seen, or
    ``other``."""
    if not model_id:
        return "none"
    with _models_lock:
        if model_id in _models:
            return model_id
        if len(_models) < MAX_MODEL_LABELS:
            _models.add(model_id)
            return model_id
    return "other"
