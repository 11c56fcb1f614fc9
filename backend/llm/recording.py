"""Record every model call of a run, and replay runs from the records with no model.

The seam is the provider boundary: ``ModelManager(..., wrap=records.recorder)`` wraps each
provider so that its structured-output runnable is recorded (``record``) or answered from
the records without building any client or starting any server (``replay``). A call is
keyed by provider, model, messages, the JSON schema sent, the structured-output method,
the sampling parameters (max tokens, temperature, seed) and the *cell* it belongs to (a
context variable set by the caller, e.g. the experiment runner), plus its occurrence
within that cell; its record holds the answer (raw message with token usage, parsed
value, or the typed error it raised) and its latency. Records are JSON lines; when a key
appears twice (a cell re-run after a crash), the last record wins.
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import threading
import time
from abc import abstractmethod
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.runnables import RunnableLambda
from pydantic import BaseModel

from . import exceptions as errors
from ._schema import model_schema
from ._threads import off_loop
from .providers.base import BaseProvider, ModelSettings
from .providers.structured import InvalidAnswerError, StructuredModel

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel

__all__ = ["CURRENT_CELL", "CallRecords", "ReplayMissError"]

#: The unit of work the calls belong to (an experiment cell id); part of every key.
CURRENT_CELL: contextvars.ContextVar[str] = contextvars.ContextVar("llm_cell", default="")


class ReplayMissError(LookupError):
    """A call that the records do not hold: the replay cannot answer it."""


class _ReplayedError(Exception):
    """The typed error a recorded call raised, raised again at replay."""

    def __init__(self, error: dict[str, Any], truncation: bool) -> None:
        super().__init__(error.get("message", ""))
        self.error = error
        self.truncation = truncation


def _message_dump(message: BaseMessage) -> dict[str, Any]:
    return {"type": message.type, "content": message.content}


def _typed_error(body: dict[str, Any]) -> errors.LLMOrchestratorError:
    cls = next(
        (c for c in errors.all_error_classes() if c.code == body.get("code")),
        errors.ProviderError,
    )
    return cls(
        body.get("message", ""),
        context=dict(body.get("context") or {}),
        suggestion=body.get("suggestion"),
    )


class CallRecords:
    """The calls of one experiment, in a JSON-lines file, for ``mode`` record or replay."""

    def __init__(self, path: Path, mode: Literal["record", "replay"]) -> None:
        self.path = path
        self.mode = mode
        self._lock = threading.Lock()
        self._occurrences: Counter[tuple[str, str]] = Counter()
        self.calls: dict[str, dict[str, Any]] = {}
        self.cells: dict[str, dict[str, Any]] = {}
        self.misses: list[dict[str, Any]] = []
        if mode == "replay" and path.exists():  # a recording only appends
            self._load()

    def _load(self) -> None:
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                continue  # a line cut short by a crash
            if entry.get("kind") == "call":
                self.calls[entry["key"]] = entry
            elif entry.get("kind") == "cell":
                self.cells[entry["cell"]] = entry

    def recorded_models(self, provider: str) -> set[str]:
        """The model names the recorded calls of ``provider`` used."""
        return {
            str(entry["model"])
            for entry in self.calls.values()
            if entry.get("provider") == provider and "model" in entry
        }

    def _append(self, entry: dict[str, Any]) -> None:
        line = json.dumps(entry, ensure_ascii=False, sort_keys=True, default=str) + "\n"
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line)
            handle.flush()

    # -- keys -----------------------------------------------------------------------------
    def key(
        self, identity: dict[str, Any], messages: list[BaseMessage]
    ) -> tuple[str, dict[str, Any]]:
        cell = CURRENT_CELL.get()
        described = {**identity, "messages": [_message_dump(m) for m in messages]}
        base = hashlib.sha256(
            json.dumps(described, sort_keys=True, default=str).encode()
        ).hexdigest()
        with self._lock:
            occurrence = self._occurrences[(cell, base)]
            self._occurrences[(cell, base)] += 1
        key = hashlib.sha256(f"{cell}|{base}|{occurrence}".encode()).hexdigest()
        return key, {**described, "cell": cell, "occurrence": occurrence}

    def reset_cell(self, cell: str) -> None:
        """Forget the occurrence counts of ``cell`` (before it runs again)."""
        with self._lock:
            for counted in [k for k in self._occurrences if k[0] == cell]:
                del self._occurrences[counted]

    # -- cells ----------------------------------------------------------------------------
    def record_cell(self, cell: str, timing: dict[str, Any]) -> None:
        entry = {"kind": "cell", "cell": cell, **timing}
        self.cells[cell] = entry
        self._append(entry)

    # -- the provider wrappers ------------------------------------------------------------
    def recorder(self, provider: BaseProvider) -> BaseProvider:
        """``ModelManager(wrap=...)``: the provider, recorded or replayed."""
        wrapper = _RecordingProvider if self.mode == "record" else _ReplayProvider
        return wrapper.around(provider, self)

    def _recorded(
        self, identity: dict[str, Any], structured: StructuredModel, inner: BaseProvider
    ) -> StructuredModel:
        def finish(key: str, described: dict[str, Any], started: float, **outcome: Any) -> None:
            latency = round((time.perf_counter() - started) * 1000, 3)
            self._append(
                {"kind": "call", "key": key, "latency_ms": latency, **described, **outcome}
            )

        def failure(exc: Exception) -> dict[str, Any]:
            typed = inner.translate_error(exc, model=f"{identity['provider']}:{identity['model']}")
            return {"error": typed.to_dict(), "truncation": inner.is_truncation(exc)}

        def call(messages: list[BaseMessage], **options: Any) -> Any:
            key, described = self.key(identity, messages)
            started = time.perf_counter()
            try:
                output = structured.runnable.invoke(messages, **options)
            except Exception as exc:
                finish(key, described, started, **failure(exc))
                raise
            finish(key, described, started, output=_output_dump(output, structured))
            return output

        async def acall(messages: list[BaseMessage], **options: Any) -> Any:
            key, described = self.key(identity, messages)
            started = time.perf_counter()
            try:
                output = await structured.runnable.ainvoke(messages, **options)
            except Exception as exc:
                outcome = failure(exc)
                await off_loop(finish, key, described, started, **outcome)
                raise
            dumped = _output_dump(output, structured)
            await off_loop(finish, key, described, started, output=dumped)
            return output

        runnable = RunnableLambda(call, afunc=acall, name="recorded_model")
        return StructuredModel(runnable, structured.method)

    def _replayed(self, identity: dict[str, Any]) -> StructuredModel:
        def call(messages: list[BaseMessage], **options: Any) -> Any:
            key, described = self.key(identity, messages)
            entry = self.calls.get(key)
            if entry is None:
                miss = {
                    "cell": described["cell"],
                    "provider": identity["provider"],
                    "model": identity["model"],
                    "schema": identity["schema"].get("title"),
                    "occurrence": described["occurrence"],
                }
                with self._lock:
                    self.misses.append(miss)
                raise ReplayMissError(f"No recorded call for {miss}.")
            if "error" in entry:
                raise _ReplayedError(entry["error"], bool(entry.get("truncation")))
            return _output_load(entry["output"])

        async def acall(messages: list[BaseMessage], **options: Any) -> Any:
            return call(messages)

        runnable = RunnableLambda(call, afunc=acall, name="replayed_model")
        return StructuredModel(runnable, str(identity["method"]))


def _output_dump(message: AIMessage, structured: StructuredModel) -> dict[str, Any]:
    """The raw answer, which replay parses again, and what it parsed to (for readers)."""
    try:
        parsed, error = structured.parse(message), None
    except InvalidAnswerError as exc:
        parsed, error = None, str(exc)
    return {
        "raw": {
            "content": message.content,
            "usage_metadata": message.usage_metadata,
            "tool_calls": message.tool_calls,
            # finish reason and block reason: replay must see a safety block as one
            "response_metadata": _plain(message.response_metadata),
        },
        "parsed": parsed,
        "parsing_error": error,
    }


def _output_load(dumped: dict[str, Any]) -> AIMessage:
    raw = dumped.get("raw") or {"content": ""}
    return AIMessage(
        content=raw["content"],
        usage_metadata=raw.get("usage_metadata"),
        tool_calls=raw.get("tool_calls") or [],
        response_metadata=raw.get("response_metadata") or {},
    )


def _plain(value: Any) -> Any:
    """JSON-ready: enums (Gemini's block reasons) become their values."""
    return json.loads(json.dumps(value, default=lambda v: getattr(v, "value", str(v))))


class _Wrapper(BaseProvider):
    """A provider standing in for another; what it does not override, the inner one does."""

    inner: BaseProvider
    records: CallRecords

    @classmethod
    def around(cls, inner: BaseProvider, records: CallRecords) -> BaseProvider:
        subclass = type(
            f"{cls.__name__}[{inner.provider_name}]",
            (cls,),
            {
                "provider_name": inner.provider_name,
                "provider_type": inner.provider_type,
                "settings_class": inner.settings_class,
                "hints": inner.hints,
            },
        )
        wrapper: _Wrapper = subclass(inner.settings)
        wrapper.inner, wrapper.records = inner, records
        return wrapper

    def identity(
        self,
        model_name: str,
        settings: ModelSettings,
        schema: type[BaseModel],
        method: str,
        bounded: bool,
    ) -> dict[str, Any]:
        return {
            "provider": self.inner.provider_name,
            "model": model_name,
            "schema": model_schema(schema, bounded=bounded),
            "method": method,
            "max_tokens": settings.max_tokens,
            "temperature": settings.temperature,
            "seed": getattr(self.inner, "sampling_seed", None),
        }

    def canonical_model_name(self, model_name: str) -> str:
        return self.inner.canonical_model_name(model_name)

    def is_configured(self) -> bool:
        return self.inner.is_configured()

    def check_configured(self, model_name: str) -> None:
        self.inner.check_configured(model_name)

    def translate_error(self, exc: BaseException, **context: Any) -> errors.LLMOrchestratorError:
        return self.inner.translate_error(exc, **context)

    def is_truncation(self, exc: BaseException) -> bool:
        return self.inner.is_truncation(exc)

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        return self.inner.chat_model(model_name, settings)

    async def aclose_loop(self, loop: asyncio.AbstractEventLoop) -> None:
        await self.inner.aclose_loop(loop)

    def structured_model(
        self,
        model_name: str,
        settings: ModelSettings,
        schema: type[BaseModel],
        *,
        method: str,
        bounded: bool,
        loop: asyncio.AbstractEventLoop | None = None,
    ) -> StructuredModel:
        identity = self.identity(model_name, settings, schema, method, bounded)
        return self._serve(
            identity,
            lambda: self.inner.structured_model(
                model_name, settings, schema, method=method, bounded=bounded, loop=loop
            ),
        )

    @abstractmethod
    def _serve(
        self, identity: dict[str, Any], build: Callable[[], StructuredModel]
    ) -> StructuredModel:
        """The runnable answering calls of ``identity`` (``build`` makes the real one)."""


class _RecordingProvider(_Wrapper):
    @property
    def prepared(self) -> bool:
        return self.inner.prepared

    def prepare(self) -> None:
        self.inner.prepare()

    def _serve(
        self, identity: dict[str, Any], build: Callable[[], StructuredModel]
    ) -> StructuredModel:
        return self.records._recorded(identity, build(), self.inner)


class _ReplayProvider(_Wrapper):
    """Answers from the records: no client is built, no server started, no key needed."""

    def prepare(self) -> None:
        return None

    def canonical_model_name(self, model_name: str) -> str:
        """The model the records name, whatever the configuration names today: an alias
        (``local``) that now points at another model file still replays the recorded one."""
        recorded = self.records.recorded_models(self.inner.provider_name)
        if model_name in recorded:
            return model_name
        try:
            current = self.inner.canonical_model_name(model_name)
        except errors.LLMOrchestratorError:
            if len(recorded) != 1:
                raise
            return next(iter(recorded))
        if current in recorded or len(recorded) != 1:
            return current
        return next(iter(recorded))

    def is_configured(self) -> bool:
        return True

    def check_configured(self, model_name: str) -> None:
        return None

    def is_truncation(self, exc: BaseException) -> bool:
        return isinstance(exc, _ReplayedError) and exc.truncation

    def translate_error(self, exc: BaseException, **context: Any) -> errors.LLMOrchestratorError:
        if isinstance(exc, _ReplayedError):
            return _typed_error(exc.error)
        if isinstance(exc, ReplayMissError):
            return errors.ProviderError(str(exc), replay_miss=True)
        return self.inner.translate_error(exc, **context)

    def _serve(
        self, identity: dict[str, Any], build: Callable[[], StructuredModel]
    ) -> StructuredModel:
        return self.records._replayed(identity)  # never builds the real model
