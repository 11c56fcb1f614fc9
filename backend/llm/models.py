"""Persisted runs: every execution through the API, succeeded or not."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now

__all__ = ["ProviderCallSlot", "ProviderRate", "Run", "ThrottleCount"]


class Run(models.Model):
    """One execution: ``queued -> running -> succeeded | degraded | failed``, or
    ``cancelled``. Whoever runs it holds a lease (``lease_owner`` until
    ``lease_expires_at``) and renews it while it works; a run whose lease expired lost its
    process and is taken over or failed (``backend.llm.runs``)."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        DEGRADED = "degraded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    ACTIVE = (Status.QUEUED, Status.RUNNING)

    run_id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="llm_runs"
    )
    feature = models.CharField(max_length=64)
    operation = models.CharField(max_length=64)
    mode = models.CharField(max_length=16, blank=True)
    requested_model = models.CharField(max_length=200, blank=True)
    resolved_models = models.JSONField(default=list, blank=True)
    request_data = models.JSONField(default=dict, blank=True)
    request_options = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    results = models.JSONField(null=True, blank=True)
    error = models.JSONField(null=True, blank=True, help_text="code, message, context, suggestion")
    metadata = models.JSONField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=255, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    timeout_ms = models.PositiveIntegerField(null=True, blank=True)
    #: Run by a task worker (True) or inside the web request that asked for it.
    background = models.BooleanField(default=False)
    #: The task that runs it ("" until enqueued).
    task_id = models.CharField(max_length=64, blank=True)
    #: Times a process started this run (a run whose process died is started again).
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    #: When the run must have finished, from submission (queue time and every attempt
    #: included); null for a run recorded before deadlines were stored: none.
    deadline_at = models.DateTimeField(null=True, blank=True)
    #: Nodes finished so far, while running: [{node, model_id, duration_ms, status}, ...].
    progress = models.JSONField(default=list, blank=True)
    #: The trace of the request that submitted it (W3C ``traceparent``), so that a task
    #: worker's spans of the run join that trace; empty when tracing is off.
    trace_context = models.JSONField(default=dict, blank=True)
    # Every time of a run comes from the database's clock, never a process's: workers on
    # machines whose clocks disagree still agree on which leases and deadlines passed.
    created_at = models.DateTimeField(db_default=Now())
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ("-created_at",)
        constraints = (
            # The database, not a check-then-insert, decides which of two concurrent
            # requests with one key runs.
            models.UniqueConstraint(
                fields=("owner", "idempotency_key"),
                condition=models.Q(idempotency_key__isnull=False),
                name="unique_idempotency_key_per_owner",
            ),
        )
        indexes = (
            models.Index(fields=("owner", "-created_at")),
            models.Index(fields=("status", "lease_expires_at")),
        )

    def __str__(self) -> str:
        return f"{self.feature}.{self.operation} {self.run_id} ({self.status})"

    @property
    def operation_id(self) -> str:
        return f"{self.feature}.{self.operation}"

    @property
    def is_active(self) -> bool:
        return self.status in self.ACTIVE


class ThrottleCount(models.Model):
    """Requests of one client in one fixed window, counted in the database so that every
    web process shares the limit (``backend.llm.api.throttling``)."""

    key = models.CharField(max_length=200)
    window = models.BigIntegerField(help_text="window start, in whole windows since 1970")
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("key", "window"), name="unique_throttle_window"),
        )

    def __str__(self) -> str:
        return f"{self.key}@{self.window}: {self.count}"


class ProviderRate(models.Model):
    """When a provider may next be called, for a rate limit every process shares
    (``"shared": true`` in ``LLM_ORCHESTRATOR_RATE_LIMITS``; ``backend.llm._shared_limits``)."""

    provider = models.CharField(max_length=64, unique=True)
    next_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.provider}: next call at {self.next_at}"


class ProviderCallSlot(models.Model):
    """One of a provider's shared slots for calls in flight: held by one call until it
    ends, or until ``expires_at`` if its process died."""

    provider = models.CharField(max_length=64)
    number = models.PositiveSmallIntegerField()
    holder = models.CharField(max_length=64, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = (
            models.UniqueConstraint(fields=("provider", "number"), name="unique_provider_slot"),
        )

    def __str__(self) -> str:
        return f"{self.provider}#{self.number}: {self.holder or 'free'}"
