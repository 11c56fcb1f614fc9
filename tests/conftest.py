"""Test-wide guards: no traffic leaves the machine, no real API key is used, no blocking
call on an event loop; the variables the suite sets are listed in ``tests/environment``."""

from __future__ import annotations

import ipaddress
import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.llm.config import reset_config
from backend.llm.context import default_model_manager
from tests.blocking import langgraph_blocking_detector
from tests.environment import CLEARED_PREFIXES, copy_project

_real_connect = socket.socket.connect


def _is_local(address: Any) -> bool:
    if not isinstance(address, tuple):
        return True  # unix sockets
    host = address[0]
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _guarded_connect(self: socket.socket, address: Any) -> Any:
    if not _is_local(address):
        raise ConnectionRefusedError(f"tests may not reach {address!r}: cloud APIs are blocked")
    return _real_connect(self, address)


@pytest.fixture(autouse=True, scope="session")
def _block_network() -> Iterator[None]:
    socket.socket.connect = _guarded_connect  # type: ignore[method-assign,assignment]
    yield
    socket.socket.connect = _real_connect  # type: ignore[method-assign]


@pytest.fixture(autouse=True, scope="session")
def _no_blocking_calls_on_event_loops() -> Iterator[None]:
    with langgraph_blocking_detector():
        yield


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[None]:
    # A developer's shell must not change test outcomes either.
    for name in list(os.environ):
        if name.startswith(CLEARED_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LLM_ORCHESTRATOR_ENV_FILE", str(tmp_path / "no.env"))
    reset_config()
    default_model_manager.cache_clear()
    yield
    reset_config()
    default_model_manager.cache_clear()


@pytest.fixture(scope="session")
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the project (no ``.venv``, ``.env`` or database), where a test starts
    what a user would start, reading that copy's ``.env`` and database."""
    return copy_project(tmp_path_factory.mktemp("project"))


@pytest.fixture
def fake_run_service() -> Iterator[None]:
    """The run service (and the API) on ``tests.api_support``'s fake orchestrator, built
    fresh for the test; ``api_support.OVERRIDE`` cleared before and after."""
    from django.test import override_settings

    from backend.llm.runs import get_run_service
    from tests import api_support

    api_support.OVERRIDE.clear()
    with override_settings(LLM_ORCHESTRATOR_FACTORY="tests.api_support.fake_orchestrator"):
        get_run_service.cache_clear()
        yield
        get_run_service.cache_clear()
    api_support.OVERRIDE.clear()
