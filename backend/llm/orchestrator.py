"""``LLMOrchestrator``: the one facade every pix:e feature calls for LLM work."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NoReturn

from django.utils.module_loading import import_string

from . import exceptions as errors
from . import observability
from ._bootstrap import ensure_apps
from ._loops import close_with_loop
from .config import Config, get_config
from .context import RunContext
from .handler_registry import HandlerRegistry, registry
from .plan_registry import PlanRegistry, plan_registry
from .plans import AgentPlan
from .providers import ModelManager
from .types import (
    EXECUTION_MODES,
    ExecutionMode,
    LLMRequest,
    LLMResponse,
    NodeMetrics,
    ResponseMetadata,
    TokenUsage,
)

__all__ = ["GraphFactory", "LLMOrchestrator", "NodeListener", "RunListener"]

_logger = logging.getLogger(__name__)

#: Called with a node's metrics (``NodeMetrics.model_dump()``) when the node finishes.
NodeListener = Callable[[dict[str, Any]], None]

#: Called once per run with the request and either its response or its typed error.
RunListener = Callable[
    [LLMRequest | Mapping[str, Any], str, "LLMResponse | errors.LLMOrchestratorError"], None
]
#: Compiles (and caches) the graph of a mode and plan. The core names its factory by
#: dotted path, as Django names its URLconf, so it never imports the graphs itself.
GraphFactory = Callable[[ExecutionMode, AgentPlan | None], Any]


@dataclass(frozen=True)
class _Run:
    run_id: str
    request: LLMRequest
    mode: ExecutionMode
    plan: AgentPlan | None
    context: RunContext
    started: float
    telemetry: observability.RunTelemetry

    @property
    def graph_input(self) -> dict[str, Any]:
        return {
            "feature": self.request.feature,
            "operation": self.request.operation,
            "data": self.request.data,
        }

    @property
    def timeout_s(self) -> float:
        return (self.context.timeout_ms or 0) / 1000


class LLMOrchestrator:
    """Runs ``LLMRequest``s through the graph of their execution mode.

    ``execute`` and ``aexecute`` return an ``LLMResponse`` whose ``results`` match the
    operation's response schema, or raise one of the 14 errors in ``exceptions``.
    """

    def __init__(
        self,
        config: Config | None = None,
        *,
        model_manager: ModelManager | None = None,
        handlers: HandlerRegistry | None = None,
        plans: PlanRegistry | None = None,
        graphs: GraphFactory | None = None,
        listeners: list[RunListener] | None = None,
    ) -> None:
        self.config = config or (model_manager.config if model_manager else get_config())
        self.model_manager = model_manager or ModelManager(self.config)
        self.handlers = handlers or registry
        self.plans = plans or plan_registry
        self._graphs = graphs
        self.listeners: list[RunListener] = list(listeners or [])

    @property
    def graphs(self) -> GraphFactory:
        if self._graphs is None:
            self._graphs = import_string(self.config.graph_factory)
        return self._graphs

    # -- public API ----------------------------------------------------------------
    def execute(
        self,
        request: LLMRequest | Mapping[str, Any],
        *,
        run_id: str | None = None,
        on_node: NodeListener | None = None,
        interrupt: Callable[[], None] | None = None,
    ) -> LLMResponse:
        """Run ``request``; ``run_id`` lets a caller that records runs choose the id;
        ``on_node`` is called with each node's metrics as it finishes (an exception it
        raises ends the run); ``interrupt`` at every safe point of the run (before each
        model try, during waits: ``RunContext.interrupt``)."""
        run_id, started = run_id or str(uuid.uuid4()), time.perf_counter()
        run: _Run | None = None
        try:
            run = self._start(request, run_id, started, interrupt)
            graph = self.graphs(run.mode, run.plan)
            if on_node is None:
                output = graph.invoke(run.graph_input, context=run.context)
            else:
                output = self._stream(graph, run, on_node)
            return self._finish(run, output)
        except Exception as exc:
            self._fail(request, run_id, exc, run)
        except BaseException:
            if run is not None:
                run.telemetry.interrupted()
            raise

    async def aexecute(
        self, request: LLMRequest | Mapping[str, Any], *, run_id: str | None = None
    ) -> LLMResponse:
        run_id, started = run_id or str(uuid.uuid4()), time.perf_counter()
        await close_with_loop(self.model_manager)
        run: _Run | None = None
        try:
            run = self._start(request, run_id, started)
            graph = self.graphs(run.mode, run.plan)
            try:
                output = await asyncio.wait_for(
                    graph.ainvoke(run.graph_input, context=run.context), timeout=run.timeout_s
                )
            except TimeoutError as exc:
                if isinstance(exc, errors.LLMOrchestratorError):
                    raise  # a node's own typed timeout, already precise
                raise errors.TimeoutError(
                    f"The run exceeded its deadline of {run.context.timeout_ms} ms.",
                    operation=run.request.operation_id,
                    timeout_ms=run.context.timeout_ms,
                ) from None
            return self._finish(run, output)
        except Exception as exc:
            self._fail(request, run_id, exc, run)
        except BaseException:  # cancelled (the task or its loop), Ctrl-C
            if run is not None:
                run.telemetry.interrupted()
            raise

    # -- steps ---------------------------------------------------------------------
    @staticmethod
    def _stream(graph: Any, run: _Run, on_node: NodeListener) -> dict[str, Any]:
        output: dict[str, Any] = {}
        for kind, chunk in graph.stream(
            run.graph_input, context=run.context, stream_mode=["updates", "values"]
        ):
            if kind == "values":
                output = chunk
                continue
            for update in chunk.values():
                for node in (update or {}).get("nodes", []):
                    on_node(node)
        return output

    def _start(
        self,
        request: LLMRequest | Mapping[str, Any],
        run_id: str,
        started: float,
        interrupt: Callable[[], None] | None = None,
    ) -> _Run:
        if self.handlers is registry:
            ensure_apps()  # a plain script gets the Django apps: operations and plans
        if not isinstance(request, LLMRequest):
            request = LLMRequest.parse(request)
        mode = request.execution_mode or self.config.default_execution_mode
        if mode not in EXECUTION_MODES:
            raise errors.InvalidRequestError(
                f"Unknown execution mode {mode!r}.",
                execution_mode=mode,
                known_modes=list(EXECUTION_MODES),
                suggestion="Use execution_mode='monolithic' or 'agentic'.",
            )
        self._check_size(request)
        # Fail fast, before any graph work: unknown operation, bad input, bad model.
        handler = self.handlers.get(request.feature, request.operation)()
        handler.validate_input(request.data)
        self.model_manager.resolve(request.model_id)
        options = request.options
        plan = self.plans.get(request.operation_id)
        self._check_agent_models(request.operation_id, plan, options.agent_models)
        timeout_ms = request.timeout_ms or self.config.default_timeout_ms
        context = RunContext(
            model_id=request.model_id,
            timeout_ms=timeout_ms,
            temperature=options.temperature,
            max_output_tokens=options.max_output_tokens,
            output_retries=options.output_retries,
            agent_models=options.agent_models or None,
            cross_check_rounds=options.cross_check_rounds,
            strict=options.strict,
            max_attempts=options.max_attempts,
            fallback_models=options.fallback_models,
            deadline=time.monotonic() + timeout_ms / 1000,
            interrupt=interrupt,
            models=self.model_manager,
            handlers=self.handlers,
        )
        run_plan = plan if mode == "agentic" else None
        telemetry = observability.RunTelemetry(
            run_id, request.operation_id, mode, request.model_id or self.config.default_model
        )
        return _Run(run_id, request, mode, run_plan, context, started, telemetry)  # type: ignore[arg-type]

    def _check_agent_models(
        self, operation_id: str, plan: AgentPlan, chosen: Mapping[str, str]
    ) -> None:
        known = plan.agent_names + (["cross_check"] if plan.cross_check else [])
        for agent, model_id in chosen.items():
            if agent not in known:
                raise errors.InvalidRequestError(
                    f"{operation_id} has no agent {agent!r}.",
                    agent=agent,
                    known_agents=known,
                    suggestion="Name agents in options.agent_models as in context['known_agents'].",
                )
            self.model_manager.resolve(model_id)

    def _check_size(self, request: LLMRequest) -> None:
        size = len(json.dumps(request.data, default=str))
        if size > self.config.max_input_chars:
            raise errors.ValidationError(
                f"The request data is {size} characters; the limit is "
                f"{self.config.max_input_chars}.",
                operation=request.operation_id,
                size=size,
                limit=self.config.max_input_chars,
                suggestion="Send less text, or raise max_input_chars in LLM_ORCHESTRATOR.",
            )

    def _finish(self, run: _Run, output: Mapping[str, Any]) -> LLMResponse:
        nodes = [NodeMetrics.model_validate(node) for node in output.get("nodes", [])]
        usage = sum((node.token_usage for node in nodes), TokenUsage())
        billed = [node.cost_usd for node in nodes if node.token_usage.total_tokens]
        cost = None if None in billed else round(sum(c for c in billed if c is not None), 8)
        models = list(dict.fromkeys(node.model_id for node in nodes if node.model_id))
        response = LLMResponse(
            results=output["results"],
            metadata=ResponseMetadata(
                run_id=run.run_id,
                operation=run.request.operation_id,
                execution_mode=run.mode,
                execution_time_ms=round((time.perf_counter() - run.started) * 1000),
                models_used=models,
                requested_model=run.request.model_id or self.config.default_model,
                token_usage=usage,
                cost_usd=cost,
                nodes=nodes,
                fallbacks=[
                    {"node": node.node, **skipped} for node in nodes for skipped in node.fallbacks
                ],
                degraded=any(node.status == "failed" for node in nodes),
                agentic=output.get("agentic"),
            ),
        )
        run.telemetry.succeeded(response)
        self._notify(run.request, run.run_id, response)
        return response

    def _fail(
        self,
        request: LLMRequest | Mapping[str, Any],
        run_id: str,
        exc: Exception,
        run: _Run | None = None,
    ) -> NoReturn:
        """Record the failure and raise it as a typed error (called in an except block)."""
        if isinstance(exc, errors.LLMOrchestratorError):
            exc.context.setdefault("run_id", run_id)
            self._told(run, exc)
            self._notify(request, run_id, exc)
            raise exc
        # A bug in a handler or node, not a provider failure (those are translated at the
        # provider boundary): still a typed error, with the cause named.
        error = errors.AgentFailureError(
            f"Unexpected {type(exc).__name__} during the run.",
            cause=type(exc).__name__,
            run_id=run_id,
        )
        self._told(run, error)
        self._notify(request, run_id, error)
        raise error from exc

    @staticmethod
    def _told(run: _Run | None, error: errors.LLMOrchestratorError) -> None:
        if run is None:
            observability.rejected(error)
        else:
            run.telemetry.failed(error)

    def _notify(
        self,
        request: LLMRequest | Mapping[str, Any],
        run_id: str,
        outcome: LLMResponse | errors.LLMOrchestratorError,
    ) -> None:
        for listener in self.listeners:
            try:
                listener(request, run_id, outcome)
            except Exception:
                # A listener observes the run; its failure is not the run's (which would
                # otherwise lose its answer, or its own typed error, to the listener's).
                _logger.exception("A run listener failed for run %s.", run_id)
