"""One thread per process renews every lease the process holds.

A thread per run cost each request a thread start and a join (about a millisecond, the
biggest share of a recorded run's own cost); renewals are rare (every third of a
lease), so one thread keeps up with any number of runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Protocol

from django.db import connection

__all__ = ["Renewable", "keeper"]

logger = logging.getLogger(__name__)


class Renewable(Protocol):
    def renew(self) -> float | None:
        """Renew once; seconds until the next renewal, or None to stop renewing."""


class _Keeper:
    def __init__(self) -> None:
        self._due: dict[Renewable, float] = {}  # what to renew -> when, on the monotonic clock
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def keep(self, lease: Renewable, first_in_s: float) -> None:
        """Renew ``lease`` in ``first_in_s`` seconds, then as often as it asks, until
        ``drop`` or until it says to stop."""
        with self._changed:
            self._due[lease] = time.monotonic() + first_in_s
            if self._thread is None or not self._thread.is_alive() or self._pid != os.getpid():
                # A forked child (a gunicorn worker) inherits the object but not the thread.
                self._pid = os.getpid()
                self._thread = threading.Thread(target=self._run, name="lease-keeper", daemon=True)
                self._thread.start()
            self._changed.notify()

    def drop(self, lease: Renewable) -> None:
        with self._changed:
            self._due.pop(lease, None)

    def _run(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                due = [lease for lease, at in self._due.items() if at <= now]
                if not due:
                    self._changed.wait(min(self._due.values(), default=now + 3600) - now)
                    continue
            try:
                for lease in due:
                    self._renew(lease)
            finally:
                connection.close()  # no connection held between rounds (a pool's to lend)

    def _renew(self, lease: Renewable) -> None:
        try:
            next_in = lease.renew()
        except Exception:  # a bug in one renewal must not stop every other run's
            logger.exception("Renewing a lease failed; trying again in a second")
            next_in = 1.0
        with self._changed:
            if lease not in self._due:
                return  # released meanwhile
            if next_in is None:
                del self._due[lease]
            else:
                self._due[lease] = time.monotonic() + next_in


#: This process's keeper.
keeper = _Keeper()
