"""The run lifecycle: recorded runs (``service``), their leases, the task that runs them
in the background (``worker``), recovery of runs whose process died (``recovery``), and
the one seam to the task queue (``queue``). Inside, imports go one way: worker ->
service, recovery -> queue, _leases -> _keeper."""

from .recovery import recover_runs, recover_runs_now_and_then
from .service import (
    ProcessStoppingError,
    RunCancelledError,
    RunInterrupted,
    RunService,
    get_run_service,
    request_hash,
)

__all__ = [
    "ProcessStoppingError",
    "RunCancelledError",
    "RunInterrupted",
    "RunService",
    "get_run_service",
    "recover_runs",
    "recover_runs_now_and_then",
    "request_hash",
]
