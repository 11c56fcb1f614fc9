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
from ._tracing import (
    configure_tracing,
    continued_trace,
    current_trace_id,
    instrument_django,
    model_call_span,
    node_span,
    trace_carrier,
)

__all__ = [
    "JsonFormatter",
    "RunIdFilter",
    "RunTelemetry",
    "cancelled",
    "configure_tracing",
    "continued_trace",
    "current_run_id",
    "current_trace_id",
    "fell_back",
    "handed_back",
    "instrument_django",
    "lease_lapsed",
    "model_call_span",
    "node_span",
    "rejected",
    "retry_scheduled",
    "throttled",
    "trace_carrier",
]
