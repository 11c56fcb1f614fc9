"""The environment the suite runs in, and the one a user's process gets.

The suite sets a few variables for itself (below, each with why). A test that starts a
process a user would start (``manage.py`` commands, ``langgraph dev``, gunicorn,
``db_worker``) passes ``user_environment()``, which drops them, and runs it from a copy of
the project (``project_copy``), so that the process reads the copy's ``.env`` and
database as it would on a user's machine. A test that must keep one says why where it
does (the workers of the API tests share the test database: ``tests/worker_settings.py``).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

__all__ = [
    "CLEARED_PREFIXES",
    "ROOT",
    "SUITE_VARIABLES",
    "copy_project",
    "user_environment",
]

ROOT = Path(__file__).resolve().parent.parent

#: Variables the suite sets in its own process, and why.
SUITE_VARIABLES: dict[str, str] = {
    "DJANGO_SETTINGS_MODULE": "pytest-django loads tests.settings; a user's process gets "
    "manage.py's default, backend.settings",
    "LLM_ORCHESTRATOR_ENV_FILE": "the developer's .env must not change test outcomes "
    "(tests/settings.py points it at /dev/null; conftest at a missing file per test)",
}

#: A developer's shell variables that must not change test outcomes: cleared for every
#: test (``conftest._clean_environment``) and absent from a user's process started here.
CLEARED_PREFIXES: tuple[str, ...] = (
    "OPENAI_",
    "GEMINI_",
    "GOOGLE_API",
    "OLLAMA_",
    "LLM_ORCHESTRATOR_",
    "LANGSMITH_",
    "LANGCHAIN_",
)


def user_environment(**overrides: str) -> dict[str, str]:
    """This process's environment without the suite's own variables or a developer's
    vendor settings, plus ``overrides``: what a user's shell would hand a command."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in SUITE_VARIABLES and not name.startswith(CLEARED_PREFIXES)
    }
    return {**environment, **overrides}


def copy_project(target: Path) -> Path:
    """The project's files (tracked and new, not ignored: no ``.venv``, ``.env`` or
    database) copied to ``target``, as a fresh clone with the working tree's changes."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.split(b"\0")
    for name in filter(None, (entry.decode() for entry in listed)):
        source = ROOT / name
        if source.is_file():  # a tracked file deleted in the working tree is gone
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target
