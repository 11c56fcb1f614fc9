"""The database's clock: the one clock every process of a deployment shares.

Leases, deadlines and throttle windows are written and compared in database time
(``Now()`` inside the statement, or ``database_now()`` read once), never a process's
``timezone.now()``: a worker whose machine runs fast must not see healthy leases as
expired, nor a slow one miss a deadline.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import DateTimeField, ExpressionWrapper
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Now
from django.db.models.sql import Query
from django.utils.dateparse import parse_datetime

__all__ = ["database_clock", "database_now", "now_plus"]

# Per database: (its time as a POSIX timestamp, this process's monotonic time) when read.
_readings: dict[str, tuple[float, float]] = {}


def now_plus(delta: timedelta) -> ExpressionWrapper[CombinedExpression]:
    """``Now() + delta`` for an UPDATE or a filter, evaluated by the database."""
    return ExpressionWrapper(Now() + delta, output_field=DateTimeField())


def database_now(using: str = DEFAULT_DB_ALIAS) -> datetime:
    """The database's current time (aware, UTC), one ``SELECT``."""
    connection = connections[using]
    compiler = Query(None).get_compiler(connection=connection)
    sql, params = compiler.compile(Now())
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {sql}", params)
        (value,) = cursor.fetchone()
    if isinstance(value, str):  # SQLite hands back text
        parsed = parse_datetime(value)
        if parsed is None:  # pragma: no cover - Now() always renders a timestamp
            raise ValueError(f"Unreadable database time {value!r}.")
        value = parsed
    if not isinstance(value, datetime):  # pragma: no cover - a backend we do not know
        raise TypeError(f"Unexpected database time {value!r}.")
    if value.tzinfo is None:  # stored and returned as UTC without a zone
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def database_clock(using: str = DEFAULT_DB_ALIAS, max_age_s: float = 60.0) -> float:
    """The database's current time as a POSIX timestamp, from one ``database_now()`` per
    ``max_age_s`` carried forward on the monotonic clock: a per-request decision (a
    throttle window) gets the shared clock without a query per request, and a process
    whose wall clock is wrong, or jumps, is not misled by it."""
    reading = _readings.get(using)
    if reading is None or time.monotonic() - reading[1] > max_age_s:
        reading = _readings[using] = (database_now(using).timestamp(), time.monotonic())
    return reading[0] + (time.monotonic() - reading[1])
