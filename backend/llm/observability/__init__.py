"""Observability: structured run events in the logs, Prometheus metrics and OpenTelemetry
traces, all told by the same calls (``_events``)."""

from ._events import (
    RunTelemetry,
    cancelled,
    fell_back,
    handed_back,
    lease_lapsed,
    rejected,
    retry_scheduled,
    throttled,
)
from ._logs import JsonFormatter, RunIdFilter, current_run_id
from ._tracing import configure_tracing, current_trace_id

__all__ = [
    "JsonFormatter",
    "RunIdFilter",
    "RunTelemetry",
    "cancelled",
    "configure_tracing",
    "current_run_id",
    "current_trace_id",
    "fell_back",
    "handed_back",
    "lease_lapsed",
    "rejected",
    "retry_scheduled",
    "throttled",
]
