"""Provider limits that every process of a deployment shares, through the database.

The rate is one row per provider holding the next moment a call may start (a bucket of
one, as the in-process limiter: starts are at least ``1 / rps`` apart); the cap on calls
in flight is ``concurrency`` slot rows per provider, each held by one call. Both are taken
by one conditional ``UPDATE`` in database time, so no two processes get the same turn and
clocks do not matter; a slot whose process died is free again once its hold (the call's
deadline) expires.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any, TypeVar

from django.db import DatabaseError, connection
from django.db.models import Q
from django.db.models.functions import Now

from ._dbtime import now_plus
from ._threads import off_loop, shared_executor
from .limits import ProviderLimits, RateLimit
from .models import ProviderCallSlot, ProviderRate

__all__ = ["SharedProviderLimits"]

logger = logging.getLogger(__name__)

#: How long a slot is held when its call has no deadline (its process may die).
_UNBOUNDED_HOLD_S = 3600.0
#: Kept past the call's deadline: the call may take a moment to notice it.
_HOLD_SLACK_S = 5.0

_Slot = tuple[int, str]  # (row, holder)
T = TypeVar("T")
R = TypeVar("R")


class SharedProviderLimits(ProviderLimits):
    """``ProviderLimits`` whose turns are rows of the database every process uses."""

    # Each try is a database write: tried less often than in memory.
    poll_s = 0.02

    def __init__(self, provider: str, limit: RateLimit) -> None:
        self.provider, self.limit = provider, limit
        self._bucket = None
        self._slots = None
        self._interval = timedelta(seconds=1 / limit.rps) if limit.rps else None
        self._rows_ready = False

    def _ensure_rows(self) -> None:
        if self._rows_ready:
            return
        if self._interval is not None:
            ProviderRate.objects.bulk_create(
                [ProviderRate(provider=self.provider)], ignore_conflicts=True
            )
        if self.limit.concurrency:
            ProviderCallSlot.objects.bulk_create(
                [
                    ProviderCallSlot(provider=self.provider, number=number)
                    for number in range(self.limit.concurrency)
                ],
                ignore_conflicts=True,
            )
        self._rows_ready = True

    # Every database call runs on the shared off-loop threads and closes its connection
    # after: the caller may be an event loop (which must not block) or one of LangGraph's
    # short-lived node threads (whose connection would never go back to the pool).
    def _try_take(self, deadline: float | None) -> object | None:
        turn = shared_executor().submit(_closing_connection, self._take, deadline)
        try:
            return turn.result()
        except BaseException:  # stopped while waiting (a signal): a slot taken goes back
            turn.add_done_callback(lambda done: self._give_back(done))
            raise

    async def _atry_take(self, deadline: float | None) -> object | None:
        turn = shared_executor().submit(_closing_connection, self._take, deadline)
        try:
            return await asyncio.shield(asyncio.wrap_future(turn))
        except BaseException:  # cancelled while the thread takes it: it goes back (from
            # the thread's future, which completes even if this loop has closed by then)
            turn.add_done_callback(lambda done: self._give_back(done))
            raise

    def _release(self, ticket: object) -> None:
        shared_executor().submit(_closing_connection, self._free_quietly, ticket).result()

    async def _arelease(self, ticket: object) -> None:
        await off_loop(_closing_connection, self._free_quietly, ticket)

    def _give_back(self, turn: Any) -> None:
        if turn.cancelled() or turn.exception() is not None:
            return
        shared_executor().submit(_closing_connection, self._free_quietly, turn.result())

    def _take(self, deadline: float | None) -> object | None:
        self._ensure_rows()
        slot = self._take_slot(deadline) if self.limit.concurrency else None
        if self.limit.concurrency and slot is None:
            return None
        try:
            started = self._interval is None or self._take_start()
        except BaseException:
            if slot is not None:
                self._free_quietly(slot)
            raise
        if not started:
            if slot is not None:
                self._free_quietly(slot)
            return None
        return slot if slot is not None else True

    def _take_slot(self, deadline: float | None) -> _Slot | None:
        free = Q(holder="") | Q(expires_at__lt=Now())
        slots = ProviderCallSlot.objects.filter(
            provider=self.provider, number__lt=self.limit.concurrency
        )
        hold_s = _UNBOUNDED_HOLD_S if deadline is None else deadline - time.monotonic()
        for pk in slots.filter(free).values_list("pk", flat=True)[:3]:
            holder = uuid.uuid4().hex
            taken = slots.filter(free, pk=pk).update(
                holder=holder, expires_at=now_plus(timedelta(seconds=hold_s + _HOLD_SLACK_S))
            )
            if taken:
                return pk, holder
        return None

    def _take_start(self) -> bool:
        assert self._interval is not None
        due = Q(next_at__isnull=True) | Q(next_at__lte=Now())
        return bool(
            ProviderRate.objects.filter(due, provider=self.provider).update(
                next_at=now_plus(self._interval)
            )
        )

    def _free(self, slot: _Slot) -> None:
        pk, holder = slot
        ProviderCallSlot.objects.filter(pk=pk, holder=holder).update(holder="", expires_at=None)

    def _free_quietly(self, ticket: object) -> None:
        if not isinstance(ticket, tuple):
            return  # a rate-only turn: nothing to give back
        try:
            self._free(ticket)
        except DatabaseError:
            # The call is over either way; its slot frees itself when its hold expires.
            logger.warning("Could not free a shared slot of %s.", self.provider, exc_info=True)


def _closing_connection(function: Callable[[T], R], argument: T) -> R:
    try:
        return function(argument)
    finally:
        connection.close()
