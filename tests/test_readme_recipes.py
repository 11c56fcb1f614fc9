"""The README's recipes (new feature, new provider, new agent), run as written.

Each recipe's blocks carry a marker (``<!-- recipe NAME ACTION [PATH [ANCHOR]] -->``):
``create``/``append`` a file, insert ``before``/``after`` an anchor, or run a ``shell``
block. They are applied in order to a copy of the project, and the shell blocks must
succeed there; a drifted anchor or a broken snippet fails this test.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
from pathlib import Path

import pytest

from tests.environment import copy_project, user_environment

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.processes

MARKER = re.compile(r"<!-- recipe (\w+) (.*?) -->\n```\w*\n(.*?)```", re.S)


def recipe(name: str) -> list[tuple[list[str], str]]:
    steps = [
        (shlex.split(args), code)
        for found, args, code in MARKER.findall((ROOT / "README.md").read_text())
        if found == name
    ]
    assert steps, f"the README has no recipe {name!r}"
    return steps


def workspace(tmp_path: Path) -> Path:
    """A fresh copy of the project with the set-up done (its ``.venv``)."""
    ws = copy_project(tmp_path / "project")
    (ws / ".venv").symlink_to(ROOT / ".venv")
    return ws


def _insert(path: Path, anchor: str, code: str, *, after: bool) -> None:
    text = path.read_text()
    anchor = anchor.encode().decode("unicode_escape")
    assert text.count(anchor) == 1, f"anchor not found once in {path}: {anchor!r}"
    at = text.index(anchor) + (len(anchor) + 1 if after else 0)
    path.write_text(text[:at] + code + text[at:])


def apply(ws: Path, name: str) -> list[str]:
    """Apply recipe ``name`` to ``ws``; the stdout of each shell block, in order."""
    outputs = []
    env = user_environment()  # as a user's shell, in the project's folder
    for args, code in recipe(name):
        action, *rest = args
        if action == "shell":
            done = subprocess.run(
                ["bash", "-euo", "pipefail", "-c", code],
                cwd=ws,
                capture_output=True,
                text=True,
                timeout=300,
                env=env,
            )
            assert done.returncode == 0, f"{code}\n{done.stdout}\n{done.stderr}"
            outputs.append(done.stdout)
            continue
        path = ws / rest[0]
        if action == "create":
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(code)
        elif action == "append":
            path.write_text(path.read_text() + code)
        elif action in ("before", "after"):
            _insert(path, rest[1], code, after=action == "after")
        else:
            raise AssertionError(f"unknown recipe action {action!r}")
    return outputs


def test_new_provider_recipe(tmp_path):
    ws = workspace(tmp_path)
    (models,) = apply(ws, "provider")
    together = json.loads(models)["providers"]["together"]
    assert together == {"type": "cloud", "configured": True, "api_key_env": "TOGETHER_API_KEY"}


def test_new_feature_recipe(tmp_path):
    ws = workspace(tmp_path)
    _, checks = apply(ws, "feature")
    assert "3 passed" in checks
    listing = json.loads(checks[checks.index("\n[\n") + 1 :])  # after pytest's summary
    assert "moodboards.analyze" in {entry["operation"] for entry in listing}


@pytest.mark.parametrize("mode", ["agentic"])
def test_new_agent_recipe(tmp_path, mode):
    ws = workspace(tmp_path)
    (operations,) = apply(ws, "agent")
    by_id = {entry["operation"]: entry for entry in json.loads(operations)}
    assert by_id["pillars.evaluate"]["agentic_plan"][-1] == "feasibility"
    assert "pillars.evaluate_feasibility" in by_id
    # Its finding reaches the results, from a node of its own.
    check = (
        "import django; django.setup()\n"
        "from backend.llm import LLMOrchestrator\n"
        "from backend.llm.testing import TestModel, manager_for\n"
        "from backend.llm.types import LLMRequest\n"
        "model = TestModel()\n"
        "pillars = [{'name': 'A', 'description': 'a'}, {'name': 'B', 'description': 'b'}]\n"
        "response = LLMOrchestrator(model_manager=manager_for(model)).execute(LLMRequest(\n"
        f"    feature='pillars', operation='evaluate', execution_mode='{mode}',\n"
        "    data={'pillars': pillars, 'context': {'platform': 'Switch'}}))\n"
        "assert response.results['feasibility'] is not None, response.results\n"
        "assert 'feasibility' in {call.node for call in model.calls}\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [str(ws / ".venv/bin/python"), "-c", check],
        cwd=ws,
        capture_output=True,
        text=True,
        timeout=300,
        env=user_environment(DJANGO_SETTINGS_MODULE="backend.settings"),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"
