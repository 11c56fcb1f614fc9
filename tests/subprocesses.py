"""Running Python in a fresh process for tests that need one (import side effects,
Django start-up, modules written to a temporary folder)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_python(
    args: list[str], *, extra_path: Path | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """``python *args`` from the repository root, with ``extra_path`` ahead of it on
    ``PYTHONPATH`` and ``env`` on top of this process's environment."""
    path = f"{extra_path}:{ROOT}" if extra_path else str(ROOT)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": path, **env},
    )
