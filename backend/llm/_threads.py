"""Blocking work off the event loop, on threads every loop shares.

``asyncio.to_thread`` uses the running loop's default executor: every new loop (each
``asyncio.run``) starts its own threads and, at its end, waits to shut them down, which
was most of what a fresh loop added to a call. The set-up a node does off the loop
(resolving models, building clients) runs here instead, with the caller's context
(``contextvars``: the run id of the log lines), as ``to_thread`` would.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import os
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["off_loop", "shared_executor"]

P = ParamSpec("P")
R = TypeVar("R")

_executor: ThreadPoolExecutor | None = None
_lock = threading.Lock()


def shared_executor() -> ThreadPoolExecutor:
    """The process's threads for blocking work done on behalf of event loops and nodes."""
    global _executor
    with _lock:
        if _executor is None:
            _executor = ThreadPoolExecutor(
                max_workers=min(32, (os.cpu_count() or 1) + 4), thread_name_prefix="llm-off-loop"
            )
        return _executor


async def off_loop(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """``await asyncio.to_thread(function, ...)``, on the process's shared threads."""
    context = contextvars.copy_context()
    call = functools.partial(context.run, function, *args, **kwargs)
    return await asyncio.get_running_loop().run_in_executor(shared_executor(), call)
