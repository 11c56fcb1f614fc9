"""What an operator sees: Prometheus counts that match what happened, structured log
lines tied to run ids, and OpenTelemetry spans per run and node with the GenAI
attributes, exported over OTLP."""

from __future__ import annotations

import io
import json
import logging
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from django.test import override_settings
from prometheus_client import REGISTRY

from backend.llm import LLMOrchestrator
from backend.llm import exceptions as errors
from backend.llm.observability import JsonFormatter, RunIdFilter
from backend.llm.observability._metrics import MAX_MODEL_LABELS
from backend.llm.testing import CallInfo, FunctionModel, instance_for, manager_for
from backend.llm.types import LLMRequest
from tests.environment import ROOT, user_environment
from tests.loopback_openai import loopback_openai

PILLAR = {"name": "Core", "description": "Puzzles"}


def _scripted(script: deque[str]) -> LLMOrchestrator:
    """A model that answers each call as the next entry of ``script`` says."""

    def answer(call: CallInfo) -> Any:
        step = script.popleft() if script else "ok"
        if step == "429":
            raise errors.RateLimitError("Slow down.", retry_after_s=0.01)
        if step == "down":
            raise errors.ModelUnavailableError("Down.")
        if step == "auth":
            raise errors.AuthenticationError("Bad key.")
        return instance_for(call.schema or {})

    return LLMOrchestrator(model_manager=manager_for(FunctionModel(function=answer)))


def _request(**options: Any) -> LLMRequest:
    return LLMRequest(feature="pillars", operation="validate", data=PILLAR, options=options)


def _value(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def _counts() -> dict[str, float]:
    run = {"operation": "pillars.validate", "mode": "monolithic"}
    return {
        "succeeded": _value("llm_runs_total", **run, model="test:default", status="succeeded"),
        "failed": _value("llm_runs_total", **run, model="test:default", status="failed"),
        "retries": _value("llm_retries_total", provider="test", error="rate_limit_exceeded"),
        "fallbacks": _value("llm_fallbacks_total", provider="test", error="model_unavailable"),
        "auth_errors": _value("llm_errors_total", provider="test", error="authentication_error"),
        "run_seconds": _value("llm_run_duration_seconds_count", **run),
    }


def test_the_metrics_count_exactly_what_happened():
    script: deque[str] = deque()
    orchestrator = _scripted(script)
    before = _counts()
    for _ in range(3):
        orchestrator.execute(_request())
    script.extend(["429", "ok"])
    orchestrator.execute(_request(max_attempts=3))
    script.extend(["down", "ok"])
    orchestrator.execute(_request(max_attempts=1, fallback_models=["test:backup"]))
    script.append("auth")
    with pytest.raises(errors.AuthenticationError):
        orchestrator.execute(_request())
    after = _counts()
    delta = {key: after[key] - before[key] for key in after}
    assert delta == {
        "succeeded": 4,  # the fallback run succeeded on test:backup
        "failed": 1,
        "retries": 1,
        "fallbacks": 1,
        "auth_errors": 1,
        "run_seconds": 6,
    }
    backup = {"operation": "pillars.validate", "mode": "monolithic", "model": "test:backup"}
    assert _value("llm_runs_total", **backup, status="succeeded") >= 1


def test_label_sets_stay_bounded_whatever_the_requests():
    orchestrator = _scripted(deque())
    for index in range(1000):
        orchestrator.execute(
            _request().model_copy(update={"model_id": f"test:model-{index}"}),
            run_id=f"run-{index}",
        )
    models = {
        sample.labels["model"]
        for metric in REGISTRY.collect()
        if metric.name == "llm_runs"
        for sample in metric.samples
    }
    assert len(models) <= MAX_MODEL_LABELS + 2  # the first ones seen, "other", "none"
    assert "other" in models
    runs = [
        sample.labels
        for metric in REGISTRY.collect()
        for sample in metric.samples
        if "run_id" in sample.labels or "user" in sample.labels
    ]
    assert runs == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("token", "sent", "status"),
    [("", "", 404), ("s3cret", "", 401), ("s3cret", "wrong", 401), ("s3cret", "s3cret", 200)],
)
def test_the_metrics_endpoint_answers_only_its_scraper(client, token, sent, status):
    _scripted(deque()).execute(_request())
    headers = {"HTTP_AUTHORIZATION": f"Bearer {sent}"} if sent else {}
    with override_settings(METRICS_TOKEN=token):
        response = client.get("/metrics", **headers)
    assert response.status_code == status
    if status == 200:
        body = response.content.decode()
        assert "llm_runs_total{" in body
        assert "llm_queue_depth{" in body
        assert "llm_oldest_queued_age_seconds" in body


@pytest.fixture
def event_lines() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    handler.addFilter(RunIdFilter())
    events = logging.getLogger("backend.llm.events")
    previous = events.level
    events.addHandler(handler)
    events.setLevel(logging.INFO)
    yield stream
    events.removeHandler(handler)
    events.setLevel(previous)


def test_each_run_logs_a_json_line_at_its_start_and_end_with_its_run_id(event_lines):
    script: deque[str] = deque(["429", "ok"])
    response = _scripted(script).execute(_request(max_attempts=3), run_id="run-logged")
    lines = [json.loads(line) for line in event_lines.getvalue().splitlines()]
    events = [(line["event"], line.get("run_id")) for line in lines]
    assert events == [
        ("run.start", "run-logged"),
        ("run.retry", "run-logged"),  # logged from inside the graph: the run id follows
        ("run.end", "run-logged"),
    ]
    end = lines[-1]
    assert end["status"] == "succeeded"
    assert end["attempts"] == 2
    assert end["input_tokens"] == response.metadata.token_usage.input_tokens
    assert {"time", "level", "logger", "message", "duration_ms"} <= set(end)


@pytest.fixture(scope="module")
def spans() -> Iterator[Any]:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    previous = trace._TRACER_PROVIDER  # the process-wide provider is set once: tests reset it
    trace._TRACER_PROVIDER = provider
    yield exporter
    trace._TRACER_PROVIDER = previous


def test_an_agentic_run_is_one_trace_with_a_span_per_agent(spans):
    spans.clear()
    request = LLMRequest(
        feature="pillars",
        operation="evaluate",
        execution_mode="agentic",
        data={"pillars": [PILLAR, {"name": "Story", "description": "Runs tell stories"}]},
    )
    response = _scripted(deque()).execute(request)
    finished = spans.get_finished_spans()
    (run,) = [span for span in finished if span.name == "llm.run"]
    nodes = [span for span in finished if span.name.startswith("llm.node ")]
    assert {span.context.trace_id for span in finished} == {run.context.trace_id}
    assert all(span.parent.span_id == run.context.span_id for span in nodes)
    assert sorted(span.attributes["llm.node"] for span in nodes) == sorted(
        node.node for node in response.metadata.nodes
    )
    usage = response.metadata.token_usage
    assert run.attributes["gen_ai.usage.input_tokens"] == usage.input_tokens
    assert run.attributes["gen_ai.usage.output_tokens"] == usage.output_tokens
    assert sum(span.attributes["gen_ai.usage.input_tokens"] for span in nodes) == usage.input_tokens
    assert all(span.attributes["gen_ai.provider.name"] == "test" for span in nodes)
    calls = [span for span in finished if span.name.startswith("chat ")]
    node_ids = {span.context.span_id: span for span in nodes}
    assert len(calls) == len(nodes)  # one try each
    for call in calls:
        node = node_ids[call.parent.span_id]  # each model call inside its node's span
        assert call.attributes["llm.node"] == node.attributes["llm.node"]
        assert call.attributes["gen_ai.request.model"] == "test:default"
    assert (
        sum(call.attributes["gen_ai.usage.output_tokens"] for call in calls) == usage.output_tokens
    )


def test_a_failed_run_span_carries_the_error_type_and_no_secret(spans):
    spans.clear()
    with pytest.raises(errors.AuthenticationError):
        _scripted(deque(["auth"])).execute(
            _request().model_copy(update={"data": {**PILLAR, "description": "sk-canary-123"}})
        )
    finished = spans.get_finished_spans()
    (run,) = [span for span in finished if span.name == "llm.run"]
    (call,) = [span for span in finished if span.name.startswith("chat ")]
    assert run.attributes["error.type"] == "authentication_error"
    assert call.attributes["error.type"] == "authentication_error"
    assert "sk-canary-123" not in json.dumps([dict(span.attributes) for span in finished])


class _Collector(BaseHTTPRequestHandler):
    """A loopback OTLP/HTTP collector (protobuf): keeps the span names it receives."""

    received: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
            ExportTraceServiceRequest,
        )

        body = self.rfile.read(int(self.headers["Content-Length"]))
        request = ExportTraceServiceRequest.FromString(body)
        for resource in request.resource_spans:
            for scope in resource.scope_spans:
                self.received.extend(span.name for span in scope.spans)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.mark.processes
def test_a_cli_run_exports_its_spans_over_otlp_when_an_endpoint_is_set():
    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    thread = threading.Thread(target=collector.serve_forever, daemon=True)
    thread.start()
    try:
        with loopback_openai() as server:
            result = subprocess.run(
                [
                    sys.executable,
                    "manage.py",
                    "llm",
                    "run",
                    "pillars.validate",
                    "--model",
                    "openai:loopback",
                    "--data",
                    json.dumps(PILLAR),
                ],
                cwd=ROOT,
                env=user_environment(
                    OPENAI_BASE_URL=server.base_url,
                    OTEL_EXPORTER_OTLP_ENDPOINT=f"http://127.0.0.1:{collector.server_port}",
                ),
                capture_output=True,
                text=True,
                timeout=300,
            )
    finally:
        collector.shutdown()
        collector.server_close()
    assert result.returncode == 0, result.stderr
    assert "llm.run" in _Collector.received
    assert "llm.node generate" in _Collector.received


def test_log_lines_of_a_traced_run_carry_its_trace_id(spans, event_lines):
    spans.clear()
    _scripted(deque()).execute(_request(), run_id="run-traced")
    (run,) = [span for span in spans.get_finished_spans() if span.name == "llm.run"]
    lines = [json.loads(line) for line in event_lines.getvalue().splitlines()]
    assert {line["trace_id"] for line in lines} == {format(run.context.trace_id, "032x")}


@pytest.mark.django_db
def test_every_series_the_dashboard_queries_is_served(client):
    """deploy/grafana-dashboard.json is built on the metrics /metrics serves: no panel
    queries a name that does not exist (a renamed metric would leave it empty)."""
    import re

    dashboard = json.loads((ROOT / "deploy" / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    queried = {name for expr in expressions for name in re.findall(r"\b(llm_[a-z_]+)\b", expr)}
    with override_settings(METRICS_TOKEN="t"):
        body = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t").content.decode()
    families = set(re.findall(r"^# TYPE (llm_[a-z_]+) ", body, flags=re.MULTILINE))
    served = families | {f"{name}_bucket" for name in families}  # histograms' series
    assert queried <= served, queried - served
    assert len(dashboard["panels"]) >= 6


@pytest.mark.processes
@pytest.mark.django_db(transaction=True)
def test_a_task_workers_runs_show_in_the_web_processes_metrics(tmp_path):
    """gunicorn and a db_worker on one machine share PROMETHEUS_MULTIPROC_DIR: the run the
    worker did is counted in what the web process serves."""
    import time
    import urllib.request

    from rest_framework.authtoken.models import Token

    from tests.test_api import EXECUTE, make_user
    from tests.test_background_runs import start_worker, status_of, stop, wait_for
    from tests.test_multiprocess_api import post, stop_servers, web_servers

    shared = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path), "METRICS_TOKEN": "scrape-me"}
    token = Token.objects.create(user=make_user("observed")).key
    started: list[Any] = []
    worker = start_worker(delay_s=0.0, **shared)
    try:
        (url,) = web_servers(started, 1, **shared)
        status, body = post(url, token, EXECUTE, Prefer="respond-async")
        assert status == 202
        wait_for(lambda: status_of(body["run_id"]) == "succeeded")
        time.sleep(0.5)
        scrape = urllib.request.Request(
            f"{url}/metrics",
            headers={"Authorization": "Bearer scrape-me", "X-Forwarded-Proto": "https"},
        )
        with urllib.request.urlopen(scrape, timeout=60) as response:
            metrics_text = response.read().decode()
    finally:
        stop_servers(started)
        stop(worker)
    from prometheus_client.parser import text_string_to_metric_families

    counted = {
        (sample.labels["operation"], sample.labels["status"]): sample.value
        for family in text_string_to_metric_families(metrics_text)
        if family.name == "llm_runs"
        for sample in family.samples
        if sample.name == "llm_runs_total"
    }
    assert counted == {("pillars.validate", "succeeded"): 1.0}


@pytest.mark.django_db(transaction=True)
def test_one_trace_from_the_http_request_through_the_queued_task_to_every_node(spans):
    """An agentic run submitted with ``Prefer: respond-async`` and run by a task worker
    (its task function, here): the request's span, the task's, the run's and one per
    node are one trace, each under the one before."""
    from django.core.cache import cache

    from backend.llm.models import Run
    from backend.llm.observability import instrument_django
    from backend.llm.runs import get_run_service
    from backend.llm.runs.worker import execute_run
    from tests import api_support
    from tests.test_api import client_for, make_user

    instrument_django()
    cache.clear()
    spans.clear()
    body = {
        "feature": "pillars",
        "operation": "evaluate",
        "mode": "agentic",
        "data": {"pillars": [PILLAR, {"name": "Story", "description": "Runs tell stories"}]},
    }
    with override_settings(LLM_ORCHESTRATOR_FACTORY="tests.api_support.fake_orchestrator"):
        get_run_service.cache_clear()
        api_support.OVERRIDE.clear()
        try:
            client = client_for(make_user("traced"))
            with pytest.MonkeyPatch.context() as patch:
                patch.setattr("backend.llm.runs.queue.enqueue", lambda run: None)
                answer = client.post(
                    "/api/llm/execute/", body, format="json", HTTP_PREFER="respond-async"
                )
            assert answer.status_code == 202
            run_id = answer.json()["run_id"]
            assert Run.objects.get(pk=run_id).trace_context.get("traceparent")
            assert execute_run.call(run_id) == "succeeded"
        finally:
            get_run_service.cache_clear()
            from opentelemetry.instrumentation.django import DjangoInstrumentor

            DjangoInstrumentor().uninstrument()  # its middleware is process-wide
    finished = {span.name: span for span in spans.get_finished_spans()}
    (request,) = [span for name, span in finished.items() if "execute" in name]
    task, run = finished["llm.task"], finished["llm.run"]
    nodes = [span for name, span in finished.items() if name.startswith("llm.node ")]
    assert len({span.context.trace_id for span in [request, task, run, *nodes]}) == 1
    assert task.parent.span_id == request.context.span_id
    assert run.parent.span_id == task.context.span_id
    agents = {span.attributes["llm.node"] for span in nodes}
    assert {"agent:completeness", "agent:contradictions"} <= agents
