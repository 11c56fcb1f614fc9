"""Settings of a task worker started by a test (``manage.py db_worker`` in a process of its
own): the test run's settings, the test database (``WORKER_DB_NAME``), and the API tests'
fake model, ``WORKER_MODEL_DELAY_S`` seconds per call."""

from __future__ import annotations

import os

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES

DATABASES["default"]["NAME"] = os.environ["WORKER_DB_NAME"]
LLM_ORCHESTRATOR_FACTORY = "tests.worker_settings.slow_orchestrator"


def slow_orchestrator() -> object:
    from tests import api_support

    api_support.OVERRIDE["delay_s"] = float(os.environ.get("WORKER_MODEL_DELAY_S", "0"))
    return api_support.fake_orchestrator()
