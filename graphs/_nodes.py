"""Node building blocks shared by every graph: one structured call, timed and accounted."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

from langchain_core.messages import BaseMessage
from langchain_core.runnables import Runnable, RunnableLambda
from langgraph.graph import StateGraph
from langgraph.runtime import get_runtime
from pydantic import BaseModel

from backend.llm import exceptions as errors
from backend.llm import observability
from backend.llm._structured import (
    StructuredResult,
    ainvoke_structured,
    cached_structured_model,
    invoke_structured,
    structured_model,
)
from backend.llm._threads import off_loop
from backend.llm.context import RunContext
from backend.llm.pricing import PriceTable
from backend.llm.providers import ModelManager, ModelSettings, ResolvedModel, StructuredModel
from backend.llm.retry import Retrying
from backend.llm.types import NodeMetrics
from graphs._state import OrchestratorInput, OrchestratorOutput

P = ParamSpec("P")
R = TypeVar("R")

__all__ = [
    "NodeCall",
    "arun_node",
    "dual_node",
    "graph_builder",
    "node_metrics",
    "retrying_for",
    "run_context",
    "run_node",
    "set_up",
]


def run_context() -> RunContext:
    """The context of the run this node belongs to (models, registries, limits)."""
    return get_runtime(RunContext).context


async def set_up(function: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
    """Run a node's set-up ``function`` (reading the run context, resolving its models)
    here when nothing it does can block any more (``RunContext.ready``), else in a
    thread: the first run may read configuration and build providers."""
    if run_context().ready():
        return function(*args, **kwargs)
    return await off_loop(function, *args, **kwargs)


def graph_builder(state: type[Any]) -> StateGraph[Any, RunContext, Any, Any]:
    """A builder with the contract every graph shares: Studio-typeable input
    (feature, operation, data), the run context, and results plus node metrics out."""
    return StateGraph(
        state,
        context_schema=RunContext,
        input_schema=OrchestratorInput,
        output_schema=OrchestratorOutput,
    )


def dual_node(
    func: Callable[[Any], Any], afunc: Callable[[Any], Awaitable[Any]], name: str
) -> Runnable[Any, Any]:
    """A node with a sync body for ``invoke`` and an async one for ``ainvoke``.

    LangGraph's own ``RunnableCallable`` (what it wraps plain functions in) inspects the
    signature once; ``RunnableLambda`` does so on every call, which costs more than the
    rest of the orchestration. It is internal to LangGraph, hence the fallback.
    """
    try:
        from langgraph._internal._runnable import RunnableCallable
    except ImportError:  # pragma: no cover - a LangGraph that moved it
        return RunnableLambda(func, afunc=afunc, name=name)
    return RunnableCallable(func, afunc, name=name)


@dataclass(frozen=True)
class NodeCall:
    """Everything one node needs for its model call."""

    node: str
    model: ResolvedModel
    messages: list[BaseMessage]
    schema: type[BaseModel]
    settings: ModelSettings
    retries: int
    prices: PriceTable

    @classmethod
    def build(
        cls,
        node: str,
        context: RunContext,
        messages: list[BaseMessage],
        schema: type[BaseModel],
        model_id: str | None = None,
    ) -> NodeCall:
        model = context.manager.resolve(model_id or context.model_id)
        settings = context.model_settings(model.capabilities)
        return cls(
            node=node,
            model=model,
            messages=messages,
            schema=schema,
            settings=settings,
            retries=context.retries,
            prices=context.manager.prices,
        )

    def invoke(self, retrying: Retrying) -> StructuredResult[Any]:
        """The model's answer in the schema (schema repairs included), within the tries'
        deadline and stopping at their safe points."""
        return invoke_structured(*self._conversation(), **self._bounds(retrying))

    async def ainvoke(
        self, retrying: Retrying, structured: StructuredModel
    ) -> StructuredResult[Any]:
        return await ainvoke_structured(
            *self._conversation(), structured=structured, **self._bounds(retrying)
        )

    def _conversation(
        self,
    ) -> tuple[ResolvedModel, list[BaseMessage], type[BaseModel], ModelSettings]:
        return self.model, self.messages, self.schema, self.settings

    def _bounds(self, retrying: Retrying) -> dict[str, Any]:
        return {
            "retries": self.retries,
            "deadline": retrying.deadline,
            "interrupt": retrying.interrupt,
        }

    def metrics(
        self, result: StructuredResult[Any], started: float, retrying: Retrying
    ) -> dict[str, Any]:
        return node_metrics(
            self.node,
            started,
            model_id=self.model.model_id,
            # Every try before this one failed with one call; this one made its own.
            attempts=retrying.tries - 1 + result.attempts,
            retries=retrying.tries - 1,
            retry_log=retrying.log,
            fallbacks=retrying.fallbacks,
            token_usage=result.usage,
            cost_usd=self.prices.cost(self.model.model_id, result.usage),
        )


def node_metrics(node: str, started: float, **fields: Any) -> dict[str, Any]:
    """Metrics of a node that began at ``started`` (``time.perf_counter()``), as a dict."""
    now_perf, now_wall = time.perf_counter(), time.time()
    duration = now_perf - started
    return NodeMetrics(
        node=node,
        duration_ms=round(duration * 1000, 3),
        started_at=now_wall - duration,
        finished_at=now_wall,
        **fields,
    ).model_dump()


def retrying_for(context: RunContext, model_id: str | None = None) -> Retrying:
    """The tries of one node: ``model_id`` (else the run's model), then its fallbacks,
    under the run's retry policy and absolute deadline."""
    return Retrying(
        context.retry_policy,
        context.run_deadline(),
        chain=context.model_chain(model_id),
        interrupt=context.interrupt,
    )


def run_node(
    build: Callable[[str | None], NodeCall], retrying: Retrying
) -> tuple[BaseModel, dict[str, Any]]:
    """Build the call for the current model of ``retrying`` and run it, retrying transient
    errors and falling back along the chain (``backend.llm.retry``); returns the validated
    value and the node's metrics (a dict, so that checkpoints stay JSON). The final error
    is raised; ``retrying`` keeps the log of the tries and fallbacks."""
    started = time.perf_counter()
    with observability.node_span() as span:
        while True:
            retrying.next_try()
            try:
                call = build(retrying.model_id)
                span.start(call.node)
                call.model.provider.prepare()
                with observability.model_call_span(
                    call.node, call.model.model_id, retrying.tries
                ) as record:
                    result = call.invoke(retrying)
                    record(result.usage, result.attempts)
            except errors.LLMOrchestratorError as error:
                retrying.sleep(_next_step(retrying, error))
                continue
            metrics = call.metrics(result, started, retrying)
            span.finish(metrics)
            return result.value, metrics


async def arun_node(
    build: Callable[[str | None], NodeCall], retrying: Retrying, manager: ModelManager
) -> tuple[BaseModel, dict[str, Any]]:
    """``run_node`` for the event loop. ``build`` and the set-up it triggers (reading
    config, starting the local server, building clients) block, so the first time they
    run in a worker thread: LangGraph's dev server rejects blocking calls on its loop.
    Once all of it is built (``manager.ready``, the model cached for this loop), the
    loop does the rest itself: a thread hop per call cost more than the call's own
    orchestration."""
    started = time.perf_counter()
    loop = asyncio.get_running_loop()

    def prepare() -> tuple[NodeCall, StructuredModel]:
        call = build(retrying.model_id)
        call.model.provider.prepare()
        return call, structured_model(call.model, call.schema, call.settings, loop)

    def prepared_already() -> tuple[NodeCall, StructuredModel] | None:
        if not manager.ready(retrying.model_id):
            return None
        call = build(retrying.model_id)
        structured = cached_structured_model(call.model, call.schema, call.settings, loop)
        return None if structured is None else (call, structured)

    with observability.node_span() as span:
        while True:
            retrying.next_try()
            try:
                ready = prepared_already()
                call, structured = ready if ready is not None else await off_loop(prepare)
                span.start(call.node)
                with observability.model_call_span(
                    call.node, call.model.model_id, retrying.tries
                ) as record:
                    result = await call.ainvoke(retrying, structured)
                    record(result.usage, result.attempts)
            except errors.LLMOrchestratorError as error:
                await retrying.asleep(_next_step(retrying, error))
                continue
            metrics = call.metrics(result, started, retrying)
            span.finish(metrics)
            return result.value, metrics


def _next_step(retrying: Retrying, error: errors.LLMOrchestratorError) -> float:
    """Seconds to wait before the next try (none after falling back to the next model);
    raises ``error`` when neither a retry nor a fallback is left."""
    model_id = str(error.context.get("model") or retrying.model_id)
    if (wait := retrying.wait_after(error)) is not None:
        observability.retry_scheduled(model_id, error, wait)
        return wait
    if retrying.fall_back(error, model_id):
        observability.fell_back(model_id, error)
        return 0.0
    raise error
