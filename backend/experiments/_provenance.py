"""Which code produced what: the git commit of this checkout, read once per process."""

from __future__ import annotations

import functools
import subprocess
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

__all__ = ["code_commit", "commits_of"]

_ROOT = Path(__file__).resolve().parents[2]


@functools.cache
def code_commit() -> str:
    """The checkout's HEAD, with ``+changes`` when files differ from it; "unknown"
    outside a git checkout."""
    try:
        head = _git("rev-parse", "HEAD")
        dirty = _git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return head + ("+changes" if dirty else "")


def commits_of(rows: Iterable[dict[str, object]]) -> str:
    """The commits a set of runs was produced by, with their counts, most runs first
    (an experiment resumed across commits names each)."""
    counts = Counter(str(row.get("code_commit") or "not recorded") for row in rows)
    return ", ".join(
        f"{_short(commit)} ({n} run{'' if n == 1 else 's'})" for commit, n in counts.most_common()
    )


def _short(commit: str) -> str:
    """A full hash cut to 12 digits, keeping a ``+changes`` mark."""
    head, mark, rest = commit.partition("+")
    return (head[:12] if len(head) == 40 else head) + mark + rest


def _git(*args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=_ROOT, capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout.strip()
