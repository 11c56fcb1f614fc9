"""What happens to runs, told once to every channel: a log line (``_logs``), the metrics
(``_metrics``) and, for runs, a span (``_tracing``). The core and the graphs call these;
each is cheap when its channel is off."""

from __future__ import annotations

import logging
import time
from contextvars import Token
from typing import TYPE_CHECKING, Any

from ._logs import current_run_id, log_event
from ._metrics import bounded_model, metrics
from ._tracing import activate, deactivate, end_run_span, start_run_span

if TYPE_CHECKING:
    from ..exceptions import LLMOrchestratorError
    from ..types import LLMResponse

__all__ = [
    "RunTelemetry",
    "cancelled",
    "fell_back",
    "handed_back",
    "lease_lapsed",
    "rejected",
    "retry_scheduled",
    "throttled",
]


def _provider(model_id: str | None) -> str:
    return (model_id or "").partition(":")[0] or "none"


class RunTelemetry:
    """One run, from its start (``__init__``) to ``succeeded`` or ``failed``; the run id
    is on every log line in between."""

    def __init__(self, run_id: str, operation: str, mode: str, model: str | None) -> None:
        self.run_id, self.operation, self.mode, self.model = run_id, operation, mode, model
        self.started = time.perf_counter()
        self._token: Token[str | None] = current_run_id.set(run_id)
        self.ended = False
        self.span = start_run_span(run_id, operation, mode, model)
        self._active = activate(self.span)  # log lines and nested spans see it
        log_event("run.start", run_id=run_id, operation=operation, mode=mode, model=model)

    def succeeded(self, response: LLMResponse) -> None:
        if self.ended:
            return
        metadata = response.metadata
        status = "degraded" if metadata.degraded else "succeeded"
        registry = metrics()
        model = bounded_model(metadata.models_used[0] if metadata.models_used else self.model)
        registry.runs.labels(self.operation, self.mode, model, status).inc()
        registry.run_seconds.labels(self.operation, self.mode).observe(self._elapsed())
        for node in metadata.nodes:
            registry.node_seconds.labels(node.node, node.status).observe(node.duration_ms / 1000)
            labels = (_provider(node.model_id), bounded_model(node.model_id))
            registry.model_calls.labels(*labels).inc(node.attempts)
            registry.tokens.labels(*labels, "input").inc(node.token_usage.input_tokens)
            registry.tokens.labels(*labels, "output").inc(node.token_usage.output_tokens)
            if node.cost_usd:
                registry.cost.labels(*labels).inc(node.cost_usd)
            if node.status == "failed" and node.error:
                registry.errors.labels(labels[0], node.error.get("code", "error")).inc()
        end_run_span(self.span, response)
        self._end(
            status,
            duration_ms=metadata.execution_time_ms,
            models=metadata.models_used,
            input_tokens=metadata.token_usage.input_tokens,
            output_tokens=metadata.token_usage.output_tokens,
            cost_usd=metadata.cost_usd,
            attempts=sum(node.attempts for node in metadata.nodes),
        )

    def failed(self, error: LLMOrchestratorError) -> None:
        if self.ended:  # told already (a listener failed after the run had succeeded)
            return
        registry = metrics()
        model = str(error.context.get("model") or self.model or "")
        registry.runs.labels(self.operation, self.mode, bounded_model(model), "failed").inc()
        registry.run_seconds.labels(self.operation, self.mode).observe(self._elapsed())
        registry.errors.labels(_provider(model), error.code).inc()
        end_run_span(self.span, None, error)
        self._end(
            "failed",
            level=logging.WARNING,
            duration_ms=round(self._elapsed() * 1000),
            error=error.code,
        )

    def interrupted(self) -> None:
        """The run stopped without an outcome of its own (cancelled, handed back)."""
        if self.ended:
            return
        end_run_span(self.span, None, "interrupted")
        self._end("interrupted", duration_ms=round(self._elapsed() * 1000))

    def _elapsed(self) -> float:
        return time.perf_counter() - self.started

    def _end(self, status: str, level: int = logging.INFO, **fields: Any) -> None:
        self.ended = True
        log_event(
            "run.end",
            level,
            run_id=self.run_id,
            operation=self.operation,
            mode=self.mode,
            model=self.model,
            status=status,
            **fields,
        )
        deactivate(self._active)
        try:
            current_run_id.reset(self._token)
        except (ValueError, RuntimeError):  # ended in another context than it started
            current_run_id.set(None)


def rejected(error: LLMOrchestratorError) -> None:
    """A request refused before it ran (bad input, unknown operation or model)."""
    registry = metrics()
    registry.runs.labels("rejected", "none", "none", "failed").inc()
    registry.errors.labels("none", error.code).inc()
    log_event("run.rejected", logging.WARNING, error=error.code)


def retry_scheduled(model_id: str | None, error: LLMOrchestratorError, wait_s: float) -> None:
    metrics().retries.labels(_provider(model_id), error.code).inc()
    metrics().errors.labels(_provider(model_id), error.code).inc()
    log_event("run.retry", model=model_id, error=error.code, wait_s=round(wait_s, 3))


def fell_back(model_id: str | None, error: LLMOrchestratorError) -> None:
    metrics().fallbacks.labels(_provider(model_id), error.code).inc()
    metrics().errors.labels(_provider(model_id), error.code).inc()
    log_event("run.fallback", logging.WARNING, model=model_id, error=error.code)


def lease_lapsed(run_id: str, outcome: str, attempts: int) -> None:
    """A run whose process stopped renewing its lease: ``requeued`` or ``failed``."""
    metrics().lease_lapses.labels(outcome).inc()
    log_event(
        "run.lease_lapsed", logging.WARNING, run_id=run_id, outcome=outcome, attempts=attempts
    )


def handed_back(run_id: str) -> None:
    metrics().hand_backs.inc()
    log_event("run.handed_back", run_id=run_id)


def cancelled(run_id: str) -> None:
    metrics().cancellations.inc()
    log_event("run.cancelled", run_id=run_id)


def throttled(scope: str) -> None:
    metrics().throttled.labels(scope).inc()
    log_event("request.throttled", logging.WARNING, scope=scope)
