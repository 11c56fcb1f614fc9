"""A provider's cache of built chat models and the HTTP clients they opened: bounded, and
no client outlives the models that use it.

Models are costly to build (clients, TLS, schema bindings), so they are reused; but the
cache key holds sampling settings a caller chooses (temperature, token limit), so any
client could fill it. Each cache (one for blocking use, one per event loop) keeps the
``MAX_CACHED_MODELS`` most recently used. An evicted model is not closed at once (a call
may still be using it): its clients are closed when the model is garbage, or, for async
clients, with their event loop, whichever comes first.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar, cast

__all__ = ["MAX_CACHED_MODELS", "ModelCache"]

T = TypeVar("T")

#: Models kept per cache (blocking use, and each event loop).
MAX_CACHED_MODELS = 32

_Loop = asyncio.AbstractEventLoop


#: A client a model opened, and whether it is async (closed in its event loop).
_Opened = tuple[Any, bool]


def _close(clients: list[_Opened], loop: _Loop | None) -> None:
    """Close ``clients`` of a model nobody uses any more: blocking ones here, async ones
    in their loop (if it still runs; a closed loop closed them already)."""
    for client, is_async in clients:
        if not is_async:
            client.close()
        elif loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_aclose_in_loop, client)


def _aclose_in_loop(client: Any) -> None:
    task = asyncio.ensure_future(client.aclose())
    _closing.add(task)  # the loop keeps tasks only weakly
    task.add_done_callback(_closing.discard)


_closing: set[asyncio.Future[Any]] = set()


class ModelCache:
    """``get(key, build, loop)``: the model built once per key and cache, least recently
    used first out. ``build`` registers what it opens with ``opened`` (through the
    provider's ``sync_client``/``loop_client``)."""

    def __init__(self, size: int = MAX_CACHED_MODELS) -> None:
        self.size = size
        self._lock = threading.RLock()
        self._blocking: OrderedDict[Hashable, Any] = OrderedDict()
        self._loops: weakref.WeakKeyDictionary[_Loop, OrderedDict[Hashable, Any]] = (
            weakref.WeakKeyDictionary()
        )
        # Clients of models still alive: closed when the model goes (finalizers), or
        # when the provider closes (blocking ones) or the loop shuts down (async ones).
        self._blocking_finalizers: list[weakref.finalize[Any, Any]] = []
        self._loop_finalizers: weakref.WeakKeyDictionary[_Loop, list[weakref.finalize[Any, Any]]]
        self._loop_finalizers = weakref.WeakKeyDictionary()
        # What the model being built opens, and the loop it is built for (None: blocking).
        self._opening: list[_Opened] | None = None
        self.building_for: _Loop | None = None

    def __len__(self) -> int:
        with self._lock:
            return len(self._blocking) + sum(len(cache) for cache in self._loops.values())

    def blocking_keys(self) -> list[Hashable]:
        """The keys cached for blocking use, least recently used first."""
        with self._lock:
            return list(self._blocking)

    def open_clients(self) -> int:
        """Clients opened by models that are still alive (not yet closed)."""
        with self._lock:
            groups = [*self._blocking_finalizers]
            for finalizers in self._loop_finalizers.values():
                groups.extend(finalizers)
        count = 0
        for finalizer in groups:
            if (pending := finalizer.peek()) is not None:
                _model, _function, (clients, _loop), _kwargs = pending
                count += len(clients)
        return count

    def get(self, key: Hashable, build: Callable[[], T], loop: _Loop | None) -> T:
        with self._lock:
            cache = self._blocking if loop is None else self._loops.setdefault(loop, OrderedDict())
            if key in cache:
                cache.move_to_end(key)
                return cast("T", cache[key])
            outer = self._opening, self.building_for  # a structured model builds its chat model
            self._opening, self.building_for = [], loop
            try:
                model = build()
                opened = self._opening
            finally:
                self._opening, self.building_for = outer
            if opened:
                self._close_with(model, opened, loop)
            cache[key] = model
            while len(cache) > self.size:
                cache.popitem(last=False)
            return model

    def peek(self, key: Hashable, loop: _Loop | None) -> Any:
        """The cached model of ``key``, or None: never builds (so never blocks)."""
        with self._lock:
            cache = self._blocking if loop is None else self._loops.get(loop)
            return None if cache is None else cache.get(key)

    def opened(self, client: T, *, is_async: bool = False) -> T:
        """Note ``client`` as opened by the model being built: blocking (``close()``) or
        async (``aclose()``, in the loop the model is built for)."""
        if self._opening is None:
            raise RuntimeError("Clients are opened while a model is being built.")
        self._opening.append((client, is_async))
        return client

    def _close_with(self, model: Any, clients: list[_Opened], loop: _Loop | None) -> None:
        finalizer = weakref.finalize(model, _close, clients, loop)
        finalizer.atexit = False
        if loop is None:
            live = [f for f in self._blocking_finalizers if f.alive]
            self._blocking_finalizers = [*live, finalizer]
        else:
            live = [f for f in self._loop_finalizers.get(loop, []) if f.alive]
            self._loop_finalizers[loop] = [*live, finalizer]

    def close(self) -> None:
        """Forget the blocking models and close their clients."""
        with self._lock:
            self._blocking.clear()
            finalizers, self._blocking_finalizers = self._blocking_finalizers, []
        for finalizer in finalizers:
            finalizer()

    async def aclose_loop(self, loop: _Loop) -> None:
        """Forget ``loop``'s models and close their clients, inside the loop."""
        with self._lock:
            # Detached before the models go: a model freed first would hand its clients
            # to a closing task that the loop's shutdown cancels half-way.
            pending = [f.detach() for f in self._loop_finalizers.pop(loop, [])]
            self._loops.pop(loop, None)
        for detached in pending:
            if detached is not None:
                _model, _function, (clients, _loop), _kwargs = detached
                for client, is_async in clients:
                    if is_async:
                        await client.aclose()
                    else:
                        client.close()
