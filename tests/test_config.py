"""One configuration path: code/Django settings, then environment, then .env, then
defaults; providers declare their own settings; bad settings fail `manage.py check`."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.test import override_settings

from backend.llm._env import ConfigurationError
from backend.llm.config import DEFAULT_MODEL_ALIASES, Config, get_config, reset_config
from backend.llm.providers import ModelManager
from backend.llm.providers.gemini_provider import GeminiProvider, GeminiSettings
from backend.llm.providers.local_provider import LocalSettings
from backend.llm.providers.ollama_provider import OllamaProvider
from backend.llm.providers.openai_provider import OpenAIProvider

ROOT = Path(__file__).resolve().parent.parent


def provider_settings(name: str):
    return ModelManager(get_config()).provider(name).settings


def test_defaults_work_with_no_environment():
    config = get_config()
    assert config.default_model == "local"
    assert config.default_execution_mode == "monolithic"
    assert config.default_timeout_ms == 120_000
    assert config.model_aliases["gemini"] == "gemini:gemini-2.5-flash"
    assert OpenAIProvider().api_key is None


def test_environment_variables_of_the_spec_are_read(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env")
    monkeypatch.setenv("GEMINI_API_KEY", "gem-key")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_EXECUTION_MODE", "agentic")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS", "5000")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_MODEL", "openai")
    reset_config()
    config = get_config()
    assert OpenAIProvider().api_key == "sk-test-env"
    assert "sk-test-env" not in repr(provider_settings("openai"))
    assert GeminiProvider().api_key == "gem-key"
    assert OllamaProvider().settings.base_url == "http://127.0.0.1:9999"  # type: ignore[attr-defined]
    assert config.default_execution_mode == "agentic"
    assert config.default_timeout_ms == 5000
    assert config.default_model == "openai"


def test_google_api_key_is_an_alternative_name(monkeypatch):
    monkeypatch.setenv("GOOGLE_API_KEY", "g-alt")
    assert GeminiProvider().api_key == "g-alt"
    assert GeminiSettings.env_names("api_key") == ("GEMINI_API_KEY", "GOOGLE_API_KEY")


def test_dotenv_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "LLM_ORCHESTRATOR_DEFAULT_MODEL=gemini\nOLLAMA_BASE_URL=http://x:1\n"
        "LLM_ORCHESTRATOR_LOCAL_CONTEXT_SIZE=4096\n"
    )
    monkeypatch.setenv("LLM_ORCHESTRATOR_ENV_FILE", str(env_file))
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://from-env:2")
    reset_config()
    assert get_config().default_model == "gemini"
    assert provider_settings("ollama").base_url == "http://from-env:2"
    assert provider_settings("local").context_size == 4096


def test_django_settings_win_over_environment(monkeypatch):
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_MODEL", "openai")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://from-env:2")
    with override_settings(
        LLM_ORCHESTRATOR={
            "DEFAULT_MODEL": "ollama",
            "OUTPUT_RETRIES": 2,
            "OLLAMA_BASE_URL": "http://from-django:3",
            "LOCAL_SEED": 7,
            "PROVIDERS": {"openai": {"base_url": "http://from-django:4/v1"}},
        }
    ):
        assert get_config().default_model == "ollama"
        assert get_config().output_retries == 2
        assert provider_settings("ollama").base_url == "http://from-django:3"
        assert provider_settings("local").seed == 7
        assert provider_settings("openai").base_url == "http://from-django:4/v1"
    assert get_config().default_model == "openai"


def test_a_developer_dotenv_does_not_reach_the_tests():
    """The test settings point the .env at nothing, whatever is in the working copy."""
    import os

    assert os.environ["LLM_ORCHESTRATOR_ENV_FILE"] != str(ROOT / ".env")


def test_aliases_are_configurable_and_merge_with_defaults(monkeypatch):
    monkeypatch.setenv("LLM_ORCHESTRATOR_MODEL_ALIASES", '{"fast": "openai:gpt-4o-mini"}')
    reset_config()
    aliases = get_config().model_aliases
    assert aliases["fast"] == "openai:gpt-4o-mini"
    assert aliases["local"] == DEFAULT_MODEL_ALIASES["local"]


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("LLM_ORCHESTRATOR_DEFAULT_EXECUTION_MODE", "turbo"),
        ("LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS", "soon"),
        ("LLM_ORCHESTRATOR_MODEL_ALIASES", "{not json"),
    ],
)
def test_a_bad_setting_is_a_configuration_error_naming_it(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    reset_config()
    with pytest.raises(ConfigurationError) as info:
        get_config()
    assert info.value.setting == name
    assert name in str(info.value)


def test_a_bad_provider_setting_names_its_variable(monkeypatch):
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_CONTEXT_SIZE", "big")
    with pytest.raises(ConfigurationError) as info:
        LocalSettings.load()
    assert info.value.setting == "LLM_ORCHESTRATOR_LOCAL_CONTEXT_SIZE"


@pytest.mark.parametrize(("cores", "generating", "reading"), [(1, 1, 1), (2, 1, 2), (8, 4, 4)])
def test_the_embedded_server_reads_prompts_on_every_core_and_generates_on_one_less(
    monkeypatch, cores, generating, reading
):
    """Generation's many barriers per token stall on a shared core; reading a prompt in
    batches does not (bench/local_model.py)."""
    from backend.llm.providers import _llama_server
    from backend.llm.providers.local_provider import LocalProvider

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(cores)))
    assert _llama_server.default_threads() == generating
    assert _llama_server.default_batch_threads() == reading
    assert LocalSettings.load().prompt_cache_mb == 64  # bounded: llama.cpp's is 8 GiB
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_BATCH_THREADS", "3")
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_PROMPT_CACHE_MB", "0")
    provider = LocalProvider(settings=LocalSettings.load())
    assert not provider.prepared  # an event loop must leave its start to a thread
    server = provider.server.settings
    assert (server.threads, server.batch_threads, server.prompt_cache_mb) == (None, 3, 0)


def test_system_check_reports_bad_settings(monkeypatch):
    call_command("check")  # a clean configuration passes
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_THREADS", "-3")
    with pytest.raises(SystemCheckError, match="LLM_ORCHESTRATOR_LOCAL_THREADS"):
        call_command("check")
    monkeypatch.delenv("LLM_ORCHESTRATOR_LOCAL_THREADS")
    with (
        override_settings(LLM_ORCHESTRATOR={"DEFAULT_MODLE": "openai"}),
        pytest.raises(SystemCheckError, match="DEFAULT_MODLE"),
    ):
        call_command("check")


def test_a_typo_in_code_is_an_error_not_silently_dropped():
    with pytest.raises(ConfigurationError, match="openai_base_url"):
        Config(openai_base_url="http://h:1")
    with pytest.raises(ConfigurationError, match="base_uri"):
        ModelManager(Config(providers={"ollama": {"base_uri": "http://h:1"}})).provider("ollama")


def test_programmatic_config_overrides_everything():
    config = Config(default_model="ollama", providers={"ollama": {"base_url": "http://h:1"}})
    assert ModelManager(config).provider("ollama").settings.base_url == "http://h:1"  # type: ignore[attr-defined]


def test_local_slots_follow_the_largest_plan_unless_set(monkeypatch):
    from backend.llm.plan_registry import plan_registry
    from backend.llm.providers.local_provider import LocalProvider

    assert LocalProvider().server.settings.parallel_slots == plan_registry.max_agents() == 3
    monkeypatch.setenv("LLM_ORCHESTRATOR_LOCAL_PARALLEL_SLOTS", "5")
    assert LocalProvider().server.settings.parallel_slots == 5
