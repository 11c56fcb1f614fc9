"""Settings of a task worker started by a test (``manage.py db_worker`` in a process of its
own): the test run's settings, the test database (``WORKER_DB_NAME``), and the API tests'
fake model, ``WORKER_MODEL_DELAY_S`` seconds per call. ``WORKER_CLOCK_SKEW_S`` runs the
worker with its process clock that many seconds off (a machine whose clock is wrong)."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["WORKER_DB_NAME"]
if os.environ.get("WORKER_CLOCK_SKEW_S"):
    from tests.clock import skew_process_clock

    skew_process_clock(float(os.environ["WORKER_CLOCK_SKEW_S"]))
LLM_ORCHESTRATOR_FACTORY = "tests.worker_settings.slow_orchestrator"


def slow_orchestrator() -> object:
    from tests import api_support

    api_support.OVERRIDE["delay_s"] = float(os.environ.get("WORKER_MODEL_DELAY_S", "0"))
    return api_support.fake_orchestrator()
