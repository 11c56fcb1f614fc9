"""A process clock that is wrong: ``time.time`` and ``django.utils.timezone.now`` shifted
by a fixed number of seconds, as on a machine whose clock drifted (the database's clock
is left alone)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone

__all__ = ["skew_process_clock", "skewed_clock"]


def skew_process_clock(seconds: float) -> None:
    """Shift this process's clock by ``seconds`` for the rest of its life."""
    true_time, true_now = time.time, timezone.now
    time.time = lambda: true_time() + seconds
    timezone.now = lambda: true_now() + timedelta(seconds=seconds)


@contextlib.contextmanager
def skewed_clock(seconds: float) -> Iterator[None]:
    """This process's clock ``seconds`` off while the block runs."""
    true_time, true_now = time.time, timezone.now
    skew_process_clock(seconds)
    try:
        yield
    finally:
        time.time, timezone.now = true_time, true_now
