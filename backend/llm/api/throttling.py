"""Throttles whose counts every web process shares, so a limit holds across processes
and machines (DRF's own keep them in the per-process cache: with 2 workers, a limit of
60/min let 120 through). Fixed windows, counted by one atomic ``UPDATE`` in the database
(windows in the database's time, so machines whose clocks disagree share them), or by
``incr`` in a shared cache when ``THROTTLE_CACHE`` names one (Redis: set
``THROTTLE_CACHE_URL``).

Reads (GET, HEAD, OPTIONS) are counted in the process's own cache unless a shared one is
named: a read must never wait for a database write lock (on SQLite, one writer holding
it would turn every page view into a 30 s wait and a 500). What costs money, a run, is
always counted where every process sees it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.cache import DEFAULT_CACHE_ALIAS, caches
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from rest_framework.settings import api_settings
from rest_framework.throttling import BaseThrottle

if TYPE_CHECKING:  # DRF imports this module while rest_framework.views loads
    from rest_framework.request import Request
    from rest_framework.views import APIView

_PERIODS = {"s": 1, "m": 60, "h": 3600, "d": 86400}

__all__ = ["ExecuteRateThrottle", "SharedUserRateThrottle"]


class SharedUserRateThrottle(BaseThrottle):
    """``DEFAULT_THROTTLE_RATES[scope]`` per authenticated user (or client address)."""

    scope = "user"

    def __init__(self) -> None:
        self._wait: float | None = None

    def rate(self) -> tuple[int, int] | None:
        # Read at request time (DRF binds THROTTLE_RATES at import), so a settings
        # change applies without a restart.
        rates: dict[str, Any] = api_settings.DEFAULT_THROTTLE_RATES
        rate = rates.get(self.scope)
        if not rate:
            return None
        allowed, _, period = str(rate).partition("/")  # "60/min", as DRF writes rates
        return int(allowed), _PERIODS[period[:1]]

    def allow_request(self, request: Request, view: APIView) -> bool:
        rate = self.rate()
        if rate is None:
            return True
        allowed, period = rate
        alias = getattr(settings, "THROTTLE_CACHE", None)
        if alias is None and request.method in ("GET", "HEAD", "OPTIONS"):
            alias = DEFAULT_CACHE_ALIAS
        now = time.time() if alias else _database_time()
        window = int(now // period)
        user = request.user
        ident = f"user:{user.pk}" if user and user.is_authenticated else self.get_ident(request)
        key = f"{self.scope}:{ident}"
        count = (
            _count_in_cache(alias, key, window, period)
            if alias
            else _count_in_database(key, window)
        )
        self._wait = period - now % period
        if count > allowed:
            from backend.llm import observability  # the app's modules load after settings

            observability.throttled(self.scope)
            return False
        return True

    def wait(self) -> float | None:
        return self._wait


class ExecuteRateThrottle(SharedUserRateThrottle):
    """Runs cost money: ``llm_execute`` (``API_RATE_LLM_EXECUTE``, default 60/min)."""

    scope = "llm_execute"


def _database_time() -> float:
    from backend.llm._dbtime import database_clock  # models load after settings

    return database_clock()


def _count_in_cache(alias: str, key: str, window: int, period: int) -> int:
    """This request's number within ``key``'s ``window`` (1 for the first) in cache
    ``alias`` (Redis's ``incr`` is atomic across processes)."""
    cache = caches[alias]
    name = f"throttle:{key}:{window}"
    cache.add(name, 0, timeout=period + 1)
    try:
        return int(cache.incr(name))
    except ValueError:  # expired between add and incr: a new window
        cache.add(name, 1, timeout=period + 1)
        return 1


def _count_in_database(key: str, window: int) -> int:
    from backend.llm.models import ThrottleCount  # models load after settings

    if (counted_now := _counted_in_one_statement(key, window)) is not None:
        return counted_now
    counted = ThrottleCount.objects.filter(key=key, window=window)
    with transaction.atomic():
        if not counted.update(count=F("count") + 1):
            try:
                with transaction.atomic():
                    ThrottleCount.objects.create(key=key, window=window, count=1)
            except IntegrityError:  # another process created it first
                counted.update(count=F("count") + 1)
            else:
                ThrottleCount.objects.filter(key=key, window__lt=window).delete()
        return counted.values_list("count", flat=True).get()


def _counted_in_one_statement(key: str, window: int) -> int | None:
    """The common case (the window's row exists) as one ``UPDATE ... RETURNING``, where
    the database has it: no transaction around an update and a read. None: no row yet
    (the first request of a window), or no ``RETURNING``."""
    from backend.llm.models import ThrottleCount

    if not connection.features.can_return_columns_from_insert:  # RETURNING: SQLite 3.35+
        return None
    quote = connection.ops.quote_name
    table, count = quote(ThrottleCount._meta.db_table), quote("count")
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {count} = {count} + 1"  # quoted names; values bound
            f" WHERE {quote('key')} = %s AND {quote('window')} = %s RETURNING {count}",
            [key, window],
        )
        row = cursor.fetchone()
    return None if row is None else int(row[0])
