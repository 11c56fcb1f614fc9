"""Settings of the test run: the project's, minus the developer's ``.env``, which must
not change test outcomes (tests that read a ``.env`` point at their own file)."""

from __future__ import annotations

import os

os.environ["LLM_ORCHESTRATOR_ENV_FILE"] = os.devnull

from backend.settings import *  # noqa: F403

# Test users need a password, not a costly one: PBKDF2's default iterations take a
# noticeable fraction of a second per user created or logged in.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
