"""Running Python in a fresh process, as a user would: from a copy of the project
(``project_copy``), with the user's environment (``tests.environment``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from tests.environment import user_environment


def run_python(
    args: list[str],
    *,
    cwd: Path,
    extra_path: Path | None = None,
    timeout: float = 180,
    **env: str,
) -> subprocess.CompletedProcess[str]:
    """``python *args`` in ``cwd`` (a copy of the project), with ``extra_path`` on
    ``PYTHONPATH`` and ``env`` on top of the user's environment."""
    path = f"{extra_path}:{cwd}" if extra_path else str(cwd)
    return subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=user_environment(PYTHONPATH=path, **env),
    )
