"""Client-side rate limits and concurrency caps per provider, shared by every run in the
process, sync and async (``LLM_ORCHESTRATOR_RATE_LIMITS``, e.g.
``{"openai": {"rps": 50, "concurrency": 20}}``).

Requests per second come from LangChain's ``InMemoryRateLimiter`` (a token bucket); the
cap on calls in flight is a semaphore. Both are polled rather than waited on, so that
neither blocks an event loop and no wait outlasts the run's deadline: a call that cannot
get its turn before the deadline raises ``RateLimitError`` with the time to retry.

With ``"shared": true`` the limit holds for every process of the deployment together
(web and task workers, on any machines): the turns are taken in the database
(``backend.llm._shared_limits``), in database time.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import (
    AbstractAsyncContextManager,
    AbstractContextManager,
    asynccontextmanager,
    contextmanager,
    nullcontext,
)

from langchain_core.rate_limiters import InMemoryRateLimiter
from pydantic import BaseModel, ConfigDict, Field

from . import exceptions as errors

__all__ = ["ProviderLimits", "RateLimit", "aslot", "limits_for", "slot"]

_POLL_S = 0.005


class RateLimit(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    rps: float | None = Field(default=None, gt=0, description="Requests per second.")
    concurrency: int | None = Field(default=None, ge=1, le=1000, description="Calls in flight.")
    shared: bool = Field(
        default=False,
        description="Hold the limit across every process sharing the database, not per process.",
    )


class ProviderLimits:
    """The limits of one provider; one instance per process and setting."""

    def __init__(self, provider: str, limit: RateLimit) -> None:
        self.provider = provider
        self.limit = limit
        self._bucket = (
            InMemoryRateLimiter(
                requests_per_second=limit.rps, check_every_n_seconds=_POLL_S, max_bucket_size=1
            )
            if limit.rps
            else None
        )
        self._slots = threading.BoundedSemaphore(limit.concurrency) if limit.concurrency else None

    def _exhausted(self, waited_for: str) -> errors.RateLimitError:
        retry_after = 1 / self.limit.rps if self.limit.rps else 1.0
        return errors.RateLimitError(
            f"No {waited_for} for provider '{self.provider}' before the run's deadline.",
            provider=self.provider,
            limit=self.limit.model_dump(exclude_none=True),
            retry_after_s=round(retry_after, 3),
            suggestion="Retry later, raise the limit in LLM_ORCHESTRATOR_RATE_LIMITS, or "
            "give the run a longer timeout_ms.",
        )

    #: Seconds between two tries for a turn.
    poll_s = _POLL_S

    def _try_take(self, deadline: float | None) -> object | None:
        """A ticket for one call (given back to ``_release``), or None: not now."""
        if self._slots is not None and not self._slots.acquire(blocking=False):
            return None
        if self._bucket is not None and not self._bucket.acquire(blocking=False):
            if self._slots is not None:
                self._slots.release()
            return None
        return True

    def _release(self, ticket: object) -> None:
        if self._slots is not None:
            self._slots.release()

    async def _atry_take(self, deadline: float | None) -> object | None:
        return self._try_take(deadline)

    async def _arelease(self, ticket: object) -> None:
        self._release(ticket)

    def _hopeless(self, deadline: float | None) -> bool:
        """Whether the next turn cannot come before the deadline (give up with a 429
        rather than let the run time out while queueing)."""
        if deadline is None:
            return False
        step = max(2 * self.poll_s, 1 / self.limit.rps if self.limit.rps else 0.0)
        return time.monotonic() + step >= deadline

    @contextmanager
    def slot(
        self, deadline: float | None, interrupt: Callable[[], None] | None = None
    ) -> Iterator[None]:
        while (ticket := self._try_take(deadline)) is None:
            if self._hopeless(deadline):
                raise self._exhausted("slot")
            if interrupt is not None:
                interrupt()
            time.sleep(self.poll_s)
        try:
            yield
        finally:
            self._release(ticket)

    @asynccontextmanager
    async def aslot(
        self, deadline: float | None, interrupt: Callable[[], None] | None = None
    ) -> AsyncIterator[None]:
        while (ticket := await self._atry_take(deadline)) is None:
            if self._hopeless(deadline):
                raise self._exhausted("slot")
            if interrupt is not None:
                interrupt()
            await asyncio.sleep(self.poll_s)
        try:
            yield
        finally:
            await self._arelease(ticket)


def slot(
    limits: ProviderLimits | None,
    deadline: float | None,
    interrupt: Callable[[], None] | None = None,
) -> AbstractContextManager[None]:
    """The turn of one call under ``limits`` (none to wait for without limits);
    ``interrupt`` is called while waiting for it."""
    return nullcontext() if limits is None else limits.slot(deadline, interrupt)


def aslot(
    limits: ProviderLimits | None,
    deadline: float | None,
    interrupt: Callable[[], None] | None = None,
) -> AbstractAsyncContextManager[None]:
    return nullcontext() if limits is None else limits.aslot(deadline, interrupt)


_shared: dict[tuple[str, RateLimit], ProviderLimits] = {}
_shared_lock = threading.Lock()


def limits_for(provider: str, limit: RateLimit | None) -> ProviderLimits | None:
    """The process-wide limits of ``provider`` under ``limit`` (None: unlimited)."""
    if limit is None or (limit.rps is None and limit.concurrency is None):
        return None
    with _shared_lock:
        key = (provider, limit)
        if key not in _shared:
            if limit.shared:
                from ._shared_limits import SharedProviderLimits

                _shared[key] = SharedProviderLimits(provider, limit)
            else:
                _shared[key] = ProviderLimits(provider, limit)
        return _shared[key]
