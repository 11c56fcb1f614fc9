"""Housekeeping that a busy process does in passing, but not on every call."""

from __future__ import annotations

import time
from collections.abc import Callable

__all__ = ["AtMostEvery"]


class AtMostEvery:
    """Calls ``action`` at most once per ``seconds()`` in this process; the first call
    always runs it. ``seconds`` is read at each call (settings may change)."""

    def __init__(self, seconds: Callable[[], float], action: Callable[[], object]) -> None:
        self.seconds, self.action = seconds, action
        self._last: float | None = None

    def __call__(self) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.seconds():
            return
        self._last = now
        self.action()
