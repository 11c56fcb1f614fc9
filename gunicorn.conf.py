"""gunicorn's settings for the production web process (read from the working directory:
``.venv/bin/gunicorn backend.wsgi``). Timeouts follow the runs' deadline, so gunicorn
never kills a request that is still within it."""

import os

# The orchestrator's default deadline per run (LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS).
_run_deadline_s = int(os.environ.get("LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS", "120000")) / 1000

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Threads: a worker waiting on a model still answers other requests (and its heartbeat).
worker_class = "gthread"
threads = int(os.environ.get("GUNICORN_THREADS", "4"))
# A request may run a model for the whole deadline; a worker is only killed past it.
timeout = int(_run_deadline_s + 30)
# SIGTERM ends the process within seconds (SIGINT at once): a run still in its request
# then is failed from its lapsed lease (backend/llm/runs/), never left "running". Long
# runs belong in the background (Prefer: respond-async), whose workers hand them back.
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "10"))
keepalive = 5
# A second line of defence against anything in a worker that still grows: it is replaced
# after this many requests, the workers at different times (jitter). Its requests in
# flight get graceful_timeout to finish, like a SIGTERM's.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "5000"))
max_requests_jitter = max_requests // 10
raw_env = ["DJANGO_PRODUCTION=1"]
accesslog = "-"


def post_worker_init(worker: object) -> None:
    """What a worker has loaded by now (Django, the orchestrator's modules and registries)
    lives as long as it does: kept out of the garbage collector's scans, which otherwise
    walk it again and again (bench/concurrency.py --gc-freeze: ~12% less CPU per call)."""
    import gc

    gc.collect()
    gc.freeze()


def child_exit(server: object, worker: object) -> None:
    """A worker's metrics files are merged into the totals once it is gone (multiprocess
    mode: PROMETHEUS_MULTIPROC_DIR, shared with the task workers of this machine)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[attr-defined,no-untyped-call]
