"""``GET /metrics``: the Prometheus exposition of this process, or of every process on
this machine in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``), plus the queue read
from the database at scrape time. Only for a scraper holding ``METRICS_TOKEN``."""

from __future__ import annotations

import hmac
import os
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.db.models import Min
from django.db.models.functions import Now
from django.http import Http404, HttpRequest, HttpResponse
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

from ._metrics import metrics

__all__ = ["metrics_view"]


class QueueCollector(Collector):
    """Runs waiting, and how long the oldest has waited (database time)."""

    def collect(self) -> Iterator[GaugeMetricFamily]:
        from ..models import Run

        queued = Run.objects.filter(status=Run.Status.QUEUED)
        found = queued.aggregate(oldest=Min("created_at"))
        depth = GaugeMetricFamily("llm_queue_depth", "Runs queued.", labels=["status"])
        for status in (Run.Status.QUEUED, Run.Status.RUNNING):
            depth.add_metric([status], Run.objects.filter(status=status).count())
        yield depth
        age = 0.0
        if found["oldest"] is not None:
            now = queued.annotate(now=Now()).values_list("now", flat=True).first()
            age = max(0.0, (now - found["oldest"]).total_seconds()) if now else 0.0
        yield GaugeMetricFamily(
            "llm_oldest_queued_age_seconds", "Age of the oldest queued run.", value=age
        )


def _registry() -> Any:
    registry = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        metrics()  # this process's metrics exist even before its first run
        registry = REGISTRY
    return registry


def metrics_view(request: HttpRequest) -> HttpResponse:
    token = getattr(settings, "METRICS_TOKEN", "")
    if not token:
        raise Http404("Metrics are off (set METRICS_TOKEN).")
    sent = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
    if not hmac.compare_digest(sent.encode(), token.encode()):
        return HttpResponse(
            "A valid bearer token is needed.", status=401, content_type="text/plain"
        )
    registry = _registry()
    queue = CollectorRegistry()
    queue.register(QueueCollector())
    body = generate_latest(registry) + generate_latest(queue)
    return HttpResponse(body, content_type=CONTENT_TYPE_LATEST)
