"""Structured logs: one line per run event, with the run id on every line logged while a
run is in progress (any logger), as JSON in production (``JsonFormatter``)."""

from __future__ import annotations

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

__all__ = ["EVENTS", "JsonFormatter", "RunIdFilter", "current_run_id", "log_event"]

#: The logger of run events (``run.start``, ``run.end``, ``run.retry``, ...).
EVENTS = logging.getLogger("backend.llm.events")

#: The run this code is working for (contexts are copied into LangGraph's node threads).
current_run_id: ContextVar[str | None] = ContextVar("llm_run_id", default=None)

# What a LogRecord has before anyone adds fields: the rest is the event's.
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log ``event`` with ``fields`` (plain values) on the events logger."""
    if EVENTS.isEnabledFor(level):
        EVENTS.log(level, event, extra={"event": event, **fields})


class RunIdFilter(logging.Filter):
    """Adds ``run_id`` (the current run's, if the record has none) and, when tracing is
    on, ``trace_id`` to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "run_id", None) is None:
            record.run_id = current_run_id.get()
        if not hasattr(record, "trace_id"):
            from ._tracing import current_trace_id

            record.trace_id = current_trace_id()
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, and every extra field."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and value is not None:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)
