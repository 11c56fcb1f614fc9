"""Public names: every ``__all__`` lists names that exist, and the spec's imports work."""

from __future__ import annotations

import importlib

import pytest

MODULES = [
    "backend.llm",
    "backend.llm.types",
    "backend.llm.exceptions",
    "backend.llm.config",
    "backend.llm.providers",
    "backend.llm.operation_handler",
    "backend.llm.handler_registry",
    "backend.llm.orchestrator",
    "backend.llm.plans",
    "backend.llm.plan_registry",
    "backend.llm.catalog",
    "backend.llm.testing",
    "backend.llm.recording",
    "backend.experiments.dataset",
    "backend.experiments.scoring",
    "backend.experiments.stats",
    "backend.experiments.runner",
    "backend.experiments.tables",
    "backend.experiments.report",
    "backend.experiments.plots",
    "backend.pillars.llm.schemas",
    "backend.pillars.llm.handlers",
    "agents",
    "agents.pillars",
    "graphs",
    "graphs.monolithic",
    "graphs.agentic",
]


@pytest.mark.parametrize("name", MODULES)
def test_all_lists_existing_unique_names(name):
    module = importlib.import_module(name)
    exported = module.__all__
    assert all(hasattr(module, item) for item in exported)
    assert len(set(exported)) == len(exported)


def test_the_spec_imports_work():
    from backend.llm import LLMOrchestrator, ModelManager, get_config  # noqa: F401
    from backend.llm.exceptions import (  # noqa: F401
        AgentFailureError,
        AuthenticationError,
        IdempotencyConflictError,
        InsufficientResourcesError,
        InvalidRequestError,
        ModelUnavailableError,
        PermissionDeniedError,
        ProviderError,
        RateLimitError,
        RunNotFoundError,
        TimeoutError,
        UnknownFeatureError,
        UnknownOperationError,
        ValidationError,
    )
    from backend.llm.handler_registry import register_handler  # noqa: F401
    from backend.llm.operation_handler import BaseOperationHandler  # noqa: F401
    from backend.llm.providers import (  # noqa: F401
        BaseProvider,
        GeminiProvider,
        OllamaProvider,
        OpenAIProvider,
    )
    from backend.llm.types import LLMRequest, LLMResponse, ModelDetails, ProviderType  # noqa: F401
    from backend.pillars.llm import handlers  # noqa: F401
