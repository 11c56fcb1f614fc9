from __future__ import annotations

import pytest
from django.test import override_settings

from backend.llm import exceptions
from backend.llm.config import DEFAULT_MODEL_ALIASES, get_config, reset_config


def test_defaults_work_with_no_environment():
    config = get_config()
    assert config.default_model == "local"
    assert config.default_execution_mode == "monolithic"
    assert config.default_timeout_ms == 120_000
    assert config.model_aliases["gemini"] == "gemini:gemini-2.5-flash"
    assert config.openai_api_key is None


def test_environment_variables_of_the_spec_are_read(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-env")
    monkeypatch.setenv("GEMINI_API_KEY", "gem-key")
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://127.0.0.1:9999")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_EXECUTION_MODE", "agentic")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_TIMEOUT_MS", "5000")
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_MODEL", "openai")
    reset_config()
    config = get_config()
    assert config.openai_api_key is not None
    assert config.openai_api_key.get_secret_value() == "sk-test-env"
    assert "sk-test-env" not in repr(config)
    assert config.get_provider_config("gemini")["api_key"].get_secret_value() == "gem-key"
    assert config.ollama_base_url == "http://127.0.0.1:9999"
    assert config.default_execution_mode == "agentic"
    assert config.default_timeout_ms == 5000
    assert config.default_model == "openai"


def test_dotenv_file_is_read_and_environment_wins(monkeypatch, tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text("LLM_ORCHESTRATOR_DEFAULT_MODEL=gemini\nOLLAMA_BASE_URL=http://x:1\n")
    monkeypatch.setenv("LLM_ORCHESTRATOR_ENV_FILE", str(env_file))
    monkeypatch.setenv("OLLAMA_BASE_URL", "http://from-env:2")
    reset_config()
    assert get_config().default_model == "gemini"
    assert get_config().ollama_base_url == "http://from-env:2"


def test_django_settings_win_over_environment(monkeypatch):
    monkeypatch.setenv("LLM_ORCHESTRATOR_DEFAULT_MODEL", "openai")
    with override_settings(LLM_ORCHESTRATOR={"DEFAULT_MODEL": "ollama", "OUTPUT_RETRIES": 2}):
        assert get_config().default_model == "ollama"
        assert get_config().output_retries == 2
    assert get_config().default_model == "openai"


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
def test_bad_configuration_is_a_typed_error(monkeypatch, name, value):
    monkeypatch.setenv(name, value)
    reset_config()
    with pytest.raises(exceptions.InvalidRequestError) as info:
        get_config()
    assert info.value.suggestion


def test_provider_config_for_unknown_provider_is_empty():
    assert get_config().get_provider_config("nobody") == {}
