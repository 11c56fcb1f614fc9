"""One retry policy for every model call, ours and visible (the SDKs' own retries are off).

A node retries a call that failed with a transient error (``plans.is_transient``: rate
limit, timeout, unreachable provider, provider 5xx; never authentication, permission, bad
request or validation), waiting with exponential backoff and full jitter, or as long as
the provider asked (``Retry-After`` in seconds or as an HTTP date, Gemini's ``RetryInfo``),
whichever is longer, and never past the run's deadline. Each retry is logged in the
node's metrics: the attempt, its error code and the wait.
"""

from __future__ import annotations

import asyncio
import datetime
import email.utils
import math
import random
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from . import exceptions as errors
from .plans import is_transient

__all__ = ["MAX_RETRY_AFTER_S", "RetryPolicy", "Retrying", "retry_after_s"]


#: How often a wait looks for an interruption.
_CHECK_EVERY_S = 0.2


@dataclass(frozen=True)
class RetryPolicy:
    max_attempts: int = 3
    initial_backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    #: Fall through to the next model on an authentication or permission error too.
    fallback_on_auth: bool = False

    def backoff_s(self, retry: int) -> float:
        """Full jitter: uniform in [0, min(max, initial * 2**retry)] (AWS's advice)."""
        return random.uniform(0, min(self.max_backoff_s, self.initial_backoff_s * 2**retry))


@dataclass
class Retrying:
    """The tries of one node's call, against the run's absolute ``deadline``: retries of
    each model of the ``chain`` (the requested model, then its fallbacks), and the
    fall-through from one model to the next."""

    policy: RetryPolicy
    deadline: float
    chain: list[str | None] = field(default_factory=lambda: [None])
    tries: int = 0
    log: list[dict[str, Any]] = field(default_factory=list)
    #: Each model given up on: its id and typed error.
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    #: The run's safe-point check (``RunContext.interrupt``): before every try, and
    #: during every wait.
    interrupt: Callable[[], None] | None = None
    _model_tries: int = 0
    _index: int = 0

    @property
    def model_id(self) -> str | None:
        """The model to try now."""
        return self.chain[self._index]

    def next_try(self) -> None:
        self.check()
        self.tries += 1
        self._model_tries += 1

    def check(self) -> None:
        if self.interrupt is not None:
            self.interrupt()

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (a backoff), stopping early at an interruption."""
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.check()
            time.sleep(min(left, _CHECK_EVERY_S))

    async def asleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while (left := end - time.monotonic()) > 0:
            self.check()
            await asyncio.sleep(min(left, _CHECK_EVERY_S))

    def fall_back(self, error: errors.LLMOrchestratorError, model_id: str) -> bool:
        """Move on to the next model of the chain, if there is one and ``error`` allows
        it: a transient or unavailability error always, an authentication or permission
        error only when configured (it is reported in the metadata either way)."""
        if self._index + 1 >= len(self.chain) or time.monotonic() >= self.deadline:
            return False
        credentials = isinstance(error, errors.AuthenticationError | errors.PermissionDeniedError)
        if not (is_transient(error) or (credentials and self.policy.fallback_on_auth)):
            return False
        self.fallbacks.append({"model": model_id, "error": error.to_dict()})
        self._index += 1
        self._model_tries = 0
        return True

    def wait_after(self, error: errors.LLMOrchestratorError) -> float | None:
        """Seconds to wait before trying again, or None to give up (and raise)."""
        if self._model_tries >= self.policy.max_attempts or not is_transient(error):
            return None
        asked = error.context.get("retry_after_s")
        wait = max(float(asked or 0.0), self.policy.backoff_s(self.tries - 1))
        if time.monotonic() + wait >= self.deadline:
            return None  # the wait alone would overrun the run's deadline
        self.log.append({"attempt": self.tries, "error": error.code, "wait_s": round(wait, 3)})
        return wait


_GEMINI_DELAY = re.compile(r"^(\d+(?:\.\d+)?)s$")


def exception_chain(exc: BaseException) -> Iterator[BaseException]:
    """``exc`` and the exceptions it was raised from (or while handling): integrations
    re-raise the SDK's error as their own and keep the HTTP details only on the original,
    and SDKs re-raise transport errors (a refused connection) as theirs."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        # Even a suppressed context counts: transport libraries re-raise their own error
        # "from None" over the socket error that says what happened.
        current = current.__cause__ or current.__context__


#: The longest wait a provider can ask for that we record: a day. Longer (a date in year
#: 9999, "1e400") is the same answer for every run deadline, and must stay a JSON number.
MAX_RETRY_AFTER_S = 86_400.0


def retry_after_s(exc: BaseException) -> float | None:
    """How long the provider asked us to wait: ``Retry-After``/``retry-after-ms`` headers
    (OpenAI-compatible servers, Ollama behind a proxy) or Gemini's ``RetryInfo`` detail.
    Malformed values (``inf``, ``nan``, overflowing dates) are ignored or capped, never
    passed on: the wait ends up in error contexts that are stored as JSON."""
    for link in exception_chain(exc):
        found = _retry_after_s(link)
        if found is not None and math.isfinite(found):
            return min(MAX_RETRY_AFTER_S, max(0.0, found))
        if found is not None and found > 0:  # +inf: as long as we record
            return MAX_RETRY_AFTER_S
    return None


def _retry_after_s(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is not None:
        millis = _number(headers.get("retry-after-ms"))
        if millis is not None:
            return millis / 1000
        value = headers.get("retry-after")
        if value:
            parsed = _seconds_or_date(value)
            if parsed is not None:
                return parsed
    details = getattr(exc, "details", None)
    for detail in _gemini_details(details):
        if str(detail.get("@type", "")).endswith("google.rpc.RetryInfo"):
            found = _GEMINI_DELAY.match(str(detail.get("retryDelay", "")))
            if found:
                return float(found.group(1))
    return None


def _number(value: str | None) -> float | None:
    """A number of the header, infinite included (capped later); NaN or text: None."""
    try:
        number = float(value) if value else math.nan
    except ValueError:
        return None
    return None if math.isnan(number) else number


def _seconds_or_date(value: str) -> float | None:
    if (seconds := _number(value)) is not None:
        return seconds
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, OverflowError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    try:
        return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())
    except OverflowError:  # a date at the edge of the calendar (year 9999 with a zone)
        return MAX_RETRY_AFTER_S


def _gemini_details(details: Any) -> list[dict[str, Any]]:
    # google-genai keeps the error body: {"error": {"details": [...]}} or the inner dict.
    if isinstance(details, dict):
        inner = details.get("error", details)
        found = inner.get("details", []) if isinstance(inner, dict) else []
        return [d for d in found if isinstance(d, dict)]
    return []
