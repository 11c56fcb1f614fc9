"""OpenTelemetry traces, opt-in: a span per run (``llm.run``), one per graph node that
calls a model (agents included), and one per call to a model (each try), following the
GenAI semantic conventions. Off, and costing one check per span, unless a tracer
provider is installed: ``configure_tracing()`` installs one that exports over OTLP/HTTP
when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set (the usual ``OTEL_*`` variables apply), or a
caller (a test, an APM agent) sets its own. No prompt or answer text is put in a span;
never a secret.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.trace import Span

    from ..types import LLMResponse

__all__ = [
    "NodeSpan",
    "activate",
    "configure_tracing",
    "continued_trace",
    "current_trace_id",
    "deactivate",
    "end_run_span",
    "instrument_django",
    "model_call_span",
    "node_span",
    "start_run_span",
    "trace_carrier",
]


def _tracing_on() -> bool:
    from opentelemetry import trace
    from opentelemetry.trace import ProxyTracerProvider

    return not isinstance(trace.get_tracer_provider(), ProxyTracerProvider)


_tracers: dict[int, Any] = {}


def _tracer() -> Any:
    """This module's tracer of the current provider (building one costs more than a span)."""
    from opentelemetry import trace

    provider = trace.get_tracer_provider()
    tracer = _tracers.get(id(provider))
    if tracer is None:
        _tracers.clear()  # a provider replaced (tests, benchmarks): drop the old one
        tracer = _tracers[id(provider)] = provider.get_tracer("backend.llm")
    return tracer


def configure_tracing() -> bool:
    """Export spans over OTLP when ``OTEL_EXPORTER_OTLP_ENDPOINT`` is set and nobody has
    installed a tracer provider yet; True if this call installed one."""
    if not os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or _tracing_on():
        return False
    from opentelemetry import trace
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    resource = Resource.create({"service.name": os.environ.get("OTEL_SERVICE_NAME", "pixe-llm")})
    provider = TracerProvider(resource=resource)
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    instrument_django()
    return True


def current_trace_id() -> str | None:
    """The current trace's id (32 hex digits) while tracing, for log lines."""
    from opentelemetry import trace

    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def activate(span: Span | None) -> object | None:
    """Make ``span`` the current one (its token, for ``deactivate``)."""
    if span is None:
        return None
    from opentelemetry import context, trace

    return context.attach(trace.set_span_in_context(span))


def deactivate(token: object | None) -> None:
    if token is None:
        return
    from opentelemetry import context

    with contextlib.suppress(ValueError):  # ended in another context than it started
        context.detach(token)  # type: ignore[arg-type]


def trace_carrier() -> dict[str, str]:
    """The current trace context as W3C headers (empty when tracing is off)."""
    if not _tracing_on():
        return {}
    from opentelemetry import propagate

    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier


@contextlib.contextmanager
def continued_trace(carrier: dict[str, str], name: str, **attributes: Any) -> Iterator[None]:
    """A span ``name`` (current while the block runs) in the trace ``carrier`` was taken
    from: a task worker's work joins the request that queued it."""
    if not _tracing_on():
        yield
        return
    from opentelemetry import propagate

    parent = propagate.extract(carrier or {})
    with _tracer().start_as_current_span(name, context=parent, attributes=attributes):
        yield


def instrument_django() -> None:
    """Spans for Django's requests (OpenTelemetry's instrumentation), once."""
    from opentelemetry.instrumentation.django import DjangoInstrumentor

    instrumentor = DjangoInstrumentor()
    if not instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.instrument()


def start_run_span(run_id: str, operation: str, mode: str, model: str | None) -> Span | None:
    """The ``llm.run`` span, a child of the current one (a traced request's), or None
    when tracing is off."""
    if not _tracing_on():
        return None
    span: Span = _tracer().start_span(
        "llm.run",
        attributes={
            "llm.run_id": run_id,
            "llm.operation": operation,
            "llm.mode": mode,
            "gen_ai.operation.name": "chat",
            "gen_ai.request.model": model or "",
        },
    )
    return span


def end_run_span(span: Span | None, response: LLMResponse | None, error: Any = None) -> None:
    """Close the run span with the outcome (``error``: a typed error, or a word such as
    ``interrupted`` for a run that stopped without one)."""
    if span is None:
        return
    if response is not None:
        metadata = response.metadata
        span.set_attribute("llm.status", "degraded" if metadata.degraded else "succeeded")
        span.set_attribute("llm.degraded", metadata.degraded)
        span.set_attribute("gen_ai.usage.input_tokens", metadata.token_usage.input_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", metadata.token_usage.output_tokens)
        if metadata.cost_usd is not None:
            span.set_attribute("llm.cost_usd", metadata.cost_usd)
    else:
        span.set_attribute("llm.status", "failed")
        _mark_failed(span, error)
    span.end()


class NodeSpan:
    """The span of one graph node (``llm.node <name>``), current from ``start`` (once the
    node knows its name) to the end of its ``node_span`` block; its model calls nest in
    it. Attributes come from the node's metrics when it ends."""

    def __init__(self) -> None:
        self.span: Span | None = None
        self._active: object | None = None

    def start(self, node: str) -> None:
        if self.span is not None or not _tracing_on():
            return
        self.span = _tracer().start_span(f"llm.node {node}", attributes={"llm.node": node})
        self._active = activate(self.span)

    def finish(self, metrics: dict[str, Any]) -> None:
        if self.span is None:
            return
        usage = metrics.get("token_usage") or {}
        provider, _, model = str(metrics.get("model_id") or "").partition(":")
        attributes: dict[str, Any] = {
            "llm.attempts": metrics.get("attempts", 0),
            "llm.retries": metrics.get("retries", 0),
            "llm.fallbacks": len(metrics.get("fallbacks") or []),
            "llm.retry_wait_s": sum(
                float(entry.get("wait_s", 0)) for entry in metrics.get("retry_log") or []
            ),
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": str(metrics.get("model_id") or ""),
            "gen_ai.response.model": model,
            "gen_ai.usage.input_tokens": int(usage.get("input_tokens", 0)),
            "gen_ai.usage.output_tokens": int(usage.get("output_tokens", 0)),
        }
        if metrics.get("cost_usd") is not None:
            attributes["llm.cost_usd"] = metrics["cost_usd"]
        self.span.set_attributes(attributes)

    def fail(self, error: BaseException) -> None:
        if self.span is not None:
            _mark_failed(self.span, error)

    def close(self) -> None:
        if self.span is not None:
            self.span.end()
            deactivate(self._active)


@contextlib.contextmanager
def node_span() -> Iterator[NodeSpan]:
    """The span of the node running in this block (``NodeSpan``)."""
    span = NodeSpan()
    try:
        yield span
    except BaseException as error:
        span.fail(error)
        raise
    finally:
        span.close()


@contextlib.contextmanager
def model_call_span(node: str, model_id: str, attempt: int) -> Iterator[Any]:
    """A span per call to a model (``chat <model>``, the GenAI conventions' name); yields a
    function to record the answer's token usage: ``record(usage, attempts)``."""
    if not _tracing_on():
        yield lambda usage, attempts: None
        return
    provider, _, model = model_id.partition(":")
    span = _tracer().start_span(
        f"chat {model_id}",
        attributes={
            "gen_ai.operation.name": "chat",
            "gen_ai.provider.name": provider,
            "gen_ai.request.model": model_id,
            "llm.node": node,
            "llm.try": attempt,
        },
    )

    def record(usage: Any, attempts: int) -> None:
        span.set_attributes(
            {
                "gen_ai.response.model": model,
                "gen_ai.usage.input_tokens": usage.input_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "llm.attempts": attempts,  # schema repairs included
            }
        )

    try:
        yield record
    except BaseException as error:
        _mark_failed(span, error)
        raise
    finally:
        span.end()


def _mark_failed(span: Span, error: object) -> None:
    from opentelemetry.trace import Status, StatusCode

    code = error if isinstance(error, str) else str(getattr(error, "code", type(error).__name__))
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))
