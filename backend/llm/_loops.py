"""Close a model manager's per-loop HTTP clients when their event loop shuts down.

``asyncio.run`` (and any well-behaved loop owner) finalizes every async generator still
open with ``loop.shutdown_asyncgens()`` before closing the loop; a generator parked at
its first ``yield`` is therefore a hook that runs, inside the loop, right before it
closes. Its ``finally`` closes the clients, so no connection outlives its loop.
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .providers import ModelManager

__all__ = ["close_with_loop"]

_hooks: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[int, AsyncGenerator[None, None]]
] = weakref.WeakKeyDictionary()


async def close_with_loop(manager: ModelManager) -> None:
    """Arrange (once per loop and manager) for ``manager.aclose_loop`` at loop shutdown."""
    loop = asyncio.get_running_loop()
    hooks = _hooks.setdefault(loop, {})
    if id(manager) in hooks:
        return

    async def hook() -> AsyncGenerator[None, None]:
        try:
            yield
        finally:
            closing = asyncio.get_running_loop()
            # A started generator holds its loop (the loop's finalizer hook): its entry
            # goes with it, or every loop and its clients would stay alive for ever.
            _hooks.pop(closing, None)
            await manager.aclose_loop(closing)

    generator = hook()
    await generator.__anext__()  # registers it with the loop (its firstiter hook)
    hooks[id(manager)] = generator  # the loop only holds it weakly
