"""Make ``python manage.py test`` run the pytest suite (the pytest-django recipe)."""

from __future__ import annotations

from typing import Any


class PytestTestRunner:
    def __init__(
        self, verbosity: int = 1, failfast: bool = False, keepdb: bool = False, **kwargs: Any
    ) -> None:
        self.verbosity = verbosity
        self.failfast = failfast
        self.keepdb = keepdb

    @classmethod
    def add_arguments(cls, parser: Any) -> None:
        parser.add_argument("--keepdb", action="store_true", help="Preserve the test DB.")

    def run_tests(self, test_labels: list[str], **kwargs: Any) -> int:
        import pytest

        argv: list[str] = []
        if self.verbosity == 0:
            argv.append("--quiet")
        elif self.verbosity >= 2:
            argv.append("-" + "v" * (self.verbosity - 1))
        if self.failfast:
            argv.append("--exitfirst")
        if self.keepdb:
            argv.append("--reuse-db")
        # Django app labels ("llm", "pillars") select tests by keyword; paths pass through.
        paths = [label for label in test_labels if "/" in label or label.endswith(".py")]
        keywords = [label for label in test_labels if label not in paths]
        if keywords:
            argv += ["-k", " or ".join(keywords)]
        return int(pytest.main(argv + paths))
