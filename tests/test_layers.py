"""Dependencies run one way: web -> core -> graphs -> agents; features register with the
core; providers are reached through the core's model manager. Every import counts,
late ones included (a late import hides a circle, it does not remove it)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.subprocesses import run_python

ROOT = Path(__file__).resolve().parent.parent

#: package (a directory) -> module prefixes it must never import.
FORBIDDEN = {
    "backend/llm": ("graphs", "agents", "backend.pillars", "backend.experiments"),
    "backend/pillars": ("graphs", "agents"),
    "graphs": ("agents", "backend.pillars", "backend.llm.orchestrator", "backend.llm.api"),
    "agents": ("graphs", "backend.llm.orchestrator", "backend.llm.api"),
}
#: Vendor modules: only the core's model manager (backend/llm/providers) builds them.
PROVIDER_MODULES = (
    "backend.llm.providers.openai_provider",
    "backend.llm.providers.gemini_provider",
    "backend.llm.providers.ollama_provider",
    "backend.llm.providers.local_provider",
    "backend.llm.providers._llama_server",
)


def imported_modules(path: Path) -> set[str]:
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base]) if base else ".".join(parts)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return found


def violations(directory: str, forbidden: tuple[str, ...]) -> list[str]:
    found = []
    for path in sorted((ROOT / directory).rglob("*.py")):
        for module in imported_modules(path):
            if any(module == f or module.startswith(f + ".") for f in forbidden):
                found.append(f"{path.relative_to(ROOT)} imports {module}")
    return found


@pytest.mark.parametrize(("directory", "forbidden"), sorted(FORBIDDEN.items()))
def test_no_import_against_the_direction(directory, forbidden):
    assert violations(directory, forbidden) == []


#: The run lifecycle's modules -> those of them each may import: one direction, the queue
#: (the seam a Celery or RQ backend would replace) at the bottom.
RUNS = {
    "_keeper": set(),
    "_leases": {"_keeper"},
    "queue": set(),
    "recovery": {"_leases", "queue"},
    "service": {"_leases", "queue"},
    "worker": {"queue", "recovery", "service"},
}


@pytest.mark.parametrize("module", sorted(RUNS))
def test_the_run_lifecycle_imports_one_way(module):
    prefix = "backend.llm.runs."
    path = ROOT / "backend/llm/runs" / f"{module}.py"
    imported = {
        name.removeprefix(prefix).split(".")[0]
        for name in imported_modules(path)
        if name.startswith(prefix)
    }
    assert imported <= RUNS[module], imported - RUNS[module]


@pytest.mark.parametrize("directory", ["graphs", "agents", "backend/pillars"])
def test_providers_are_reached_only_through_the_model_manager(directory):
    assert violations(directory, PROVIDER_MODULES) == []


@pytest.mark.processes
def test_importing_the_packages_has_no_side_effects(project_copy):
    code = (
        "import backend.llm, graphs, graphs.agentic, graphs.monolithic, agents, "
        "backend.pillars.llm.handlers\n"
        "from django.apps import apps\n"
        "from django.conf import settings\n"
        "assert not apps.ready and not settings.configured, 'Django was set up on import'\n"
        "from backend.llm import LLMOrchestrator\n"
        "LLMOrchestrator()\n"
        "assert not apps.ready, 'LLMOrchestrator() set Django up'\n"
    )
    result = run_python(["-c", code], cwd=project_copy)
    assert result.returncode == 0, result.stderr


#: What ``import backend.llm`` must not load: tracing clients, the HTTP client's command
#: line (rich), vendor SDKs. Each is imported when first used.
NOT_ON_IMPORT = (
    "langsmith",
    "langchain_core.tracers",
    "rich",
    "httpx",
    "openai",
    "google",
    "ollama",
)


@pytest.mark.processes
def test_importing_the_core_loads_no_sdk_tracer_or_cli(project_copy):
    code = (
        "import sys, backend.llm\n"
        f"loaded = [m for m in sys.modules if m.startswith({NOT_ON_IMPORT!r})]\n"
        "print(sorted({m.split('.')[0] for m in loaded}))\n"
    )
    result = run_python(["-c", code], cwd=project_copy)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


@pytest.mark.processes
def test_a_feature_handlers_module_may_build_an_orchestrator_while_django_loads(
    tmp_path, project_copy
):
    """A feature's handlers.py that builds LLMOrchestrator() during autodiscovery must not
    crash manage.py with "populate() isn't reentrant"."""
    app = tmp_path / "echoes"
    (app / "llm").mkdir(parents=True)
    (app / "__init__.py").write_text("")
    (app / "llm" / "__init__.py").write_text("")
    (app / "llm" / "handlers.py").write_text(
        "from backend.llm import LLMOrchestrator\nORCHESTRATOR = LLMOrchestrator()\n"
    )
    (tmp_path / "echo_settings.py").write_text(
        "from backend.settings import *\nINSTALLED_APPS = [*INSTALLED_APPS, 'echoes']\n"
    )
    result = run_python(
        ["manage.py", "llm", "operations"],
        cwd=project_copy,
        extra_path=tmp_path,
        DJANGO_SETTINGS_MODULE="echo_settings",
    )
    assert result.returncode == 0, result.stderr
    assert "pillars.validate" in result.stdout
