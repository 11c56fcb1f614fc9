"""Settings of the processes of ``queue_throughput.py``: the project's, with a model of
fixed latency (``_common.latency_orchestrator``)."""

from backend.settings import *  # noqa: F403

LLM_ORCHESTRATOR_FACTORY = "_common.latency_orchestrator"
