"""The pix:e LLM Orchestrator: one ``execute(LLMRequest) -> LLMResponse`` facade.

from backend.llm import LLMOrchestrator
from backend.llm.types import LLMRequest

response = LLMOrchestrator().execute(
    LLMRequest(feature="pillars", operation="validate",
               data={"name": "Core Mechanic", "description": "Players solve puzzles"})
)
"""

from __future__ import annotations

from ._bootstrap import setup
from .config import Config, get_config, reset_config
from .exceptions import LLMOrchestratorError
from .handler_registry import get_handler, register_handler, registry
from .operation_handler import BaseOperationHandler
from .orchestrator import LLMOrchestrator
from .providers import ModelManager
from .types import LLMRequest, LLMResponse

__all__ = [
    "BaseOperationHandler",
    "Config",
    "LLMOrchestrator",
    "LLMOrchestratorError",
    "LLMRequest",
    "LLMResponse",
    "ModelManager",
    "get_config",
    "get_handler",
    "register_handler",
    "registry",
    "reset_config",
    "setup",
]
