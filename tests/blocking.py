"""The blocking-call detector of LangGraph's dev server, for every test.

``langgraph dev`` runs graphs under blockbuster with its own list of calls that may
block (``langgraph_runtime_inmem.queue``); a blocking call made on an event loop fails
the run there. The suite activates exactly that detector, so async code that would fail
in Studio fails here first. It only bites on a thread that runs an event loop:
synchronous tests and worker threads are unaffected.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["langgraph_blocking_detector"]


@contextmanager
def langgraph_blocking_detector() -> Iterator[None]:
    # Private to langgraph's in-memory runtime; if it moves, this import fails loudly
    # rather than silently testing a different detector from the server's.
    from langgraph_runtime_inmem.queue import _enable_blockbuster

    detector = _enable_blockbuster()
    try:
        yield
    finally:
        detector.deactivate()
