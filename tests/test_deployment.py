"""Production settings: no development fallbacks, Django's deployment checks pass, and
gunicorn's timeouts cover a run's deadline."""

from __future__ import annotations

import json
import runpy

import pytest

from tests.environment import ROOT
from tests.subprocesses import run_python

KEY = "k" * 20 + "-production-secret-0123456789-abcdefghijklmnop"


@pytest.mark.processes
def test_production_refuses_to_start_without_a_secret_key(project_copy):
    result = run_python(
        ["manage.py", "check"], cwd=project_copy, DJANGO_PRODUCTION="1", DJANGO_SECRET_KEY=""
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY is not set" in result.stderr
    assert "Traceback" not in result.stdout


@pytest.mark.processes
def test_deployment_checks_pass_in_production(project_copy):
    result = run_python(
        ["manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=project_copy,
        DJANGO_PRODUCTION="1",
        DJANGO_SECRET_KEY=KEY,
        DJANGO_ALLOWED_HOSTS="pixe.example.com",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_gunicorn_lets_a_run_take_its_deadline_and_stops_within_seconds():
    config = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    assert config["timeout"] > 120  # the default run deadline, in seconds
    assert config["graceful_timeout"] <= 10  # SIGTERM ends it within seconds
    assert "DJANGO_PRODUCTION=1" in config["raw_env"]


@pytest.mark.processes
@pytest.mark.parametrize("production", ["1", "0"])
def test_postgresql_in_production_borrows_connections_from_a_pool(project_copy, production):
    script = (
        "import json, django; django.setup(); from django.conf import settings; "
        "db = settings.DATABASES['default']; "
        "print(json.dumps([db['CONN_MAX_AGE'], db.get('OPTIONS', {}).get('pool')]))"
    )
    result = run_python(
        ["-c", script],
        cwd=project_copy,
        DJANGO_SETTINGS_MODULE="backend.settings",
        DJANGO_PRODUCTION=production,
        DJANGO_SECRET_KEY=KEY,
        DATABASE_URL="postgres://pixe@db.internal/pixe",
        DATABASE_POOL_MAX="7",
    )
    assert result.returncode == 0, result.stderr
    conn_max_age, pool = json.loads(result.stdout)
    if production == "1":
        assert conn_max_age == 0
        assert pool == {"min_size": 1, "max_size": 7, "timeout": 30.0}
    else:
        assert pool is None
