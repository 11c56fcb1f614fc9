"""Model ids, aliases and providers: resolution and its errors."""

from __future__ import annotations

import pytest

from backend.llm import exceptions
from backend.llm.config import Config
from backend.llm.providers import (
    AlreadyRegistered,
    BaseProvider,
    GeminiProvider,
    LocalProvider,
    ModelManager,
    OllamaProvider,
    OpenAIProvider,
    get_capabilities,
    parse_model_id,
    provider_classes,
    register_provider,
)

ALIASES = {"gemini": "gemini:gemini-2.5-flash", "local": "local:default"}
PROVIDERS = ["gemini", "local", "ollama", "openai"]


@pytest.mark.parametrize(
    ("model_id", "expected"),
    [
        ("gemini", ("gemini", "gemini-2.5-flash")),
        ("local", ("local", "default")),
        ("openai:gpt-4o-mini", ("openai", "gpt-4o-mini")),
        ("ollama:llama3.2:latest", ("ollama", "llama3.2:latest")),
        ("ollama", ("ollama", "default")),
        ("local:", ("local", "default")),
        ("gpt-4o", ("openai", "gpt-4o")),
        ("gemini-2.5-pro", ("gemini", "gemini-2.5-pro")),
        ("  gemini  ", ("gemini", "gemini-2.5-flash")),
    ],
)
def test_parse_model_id(model_id, expected):
    assert parse_model_id(model_id, aliases=ALIASES, providers=PROVIDERS) == expected


@pytest.mark.parametrize("model_id", ["claude", "llama3.2:latest", "mystery:model", ""])
def test_unknown_model_lists_aliases(model_id):
    with pytest.raises(exceptions.InvalidRequestError) as info:
        parse_model_id(model_id, aliases=ALIASES, providers=PROVIDERS)
    assert info.value.context["known_aliases"] == sorted(ALIASES)
    assert "provider:model" in (info.value.suggestion or "")


def test_builtin_providers_are_registered():
    classes = provider_classes()
    assert classes["openai"] is OpenAIProvider
    assert classes["gemini"] is GeminiProvider
    assert classes["ollama"] is OllamaProvider
    assert classes["local"] is LocalProvider


def test_cloud_model_without_key_is_an_authentication_error_naming_the_variable():
    manager = ModelManager(Config())
    for alias, variable in [("openai", "OPENAI_API_KEY"), ("gemini", "GEMINI_API_KEY")]:
        with pytest.raises(exceptions.AuthenticationError) as info:
            manager.resolve(alias)
        assert variable in info.value.message
        assert "local" in (info.value.suggestion or "")


def test_resolution_returns_canonical_ids_not_aliases():
    manager = ModelManager(Config(providers={"openai": {"api_key": "sk-test-resolve"}}))
    assert manager.resolve("openai").model_id == "openai:gpt-4o-mini"
    assert manager.resolve(None).model_id.startswith("local:smollm2-135m-instruct")
    assert manager.resolve("ollama:qwen2.5:0.5b").model_id == "ollama:qwen2.5:0.5b"


def test_openai_compatible_base_url_needs_no_key():
    manager = ModelManager(Config(providers={"openai": {"base_url": "http://127.0.0.1:1/v1"}}))
    assert manager.resolve("openai:my-local-model").details.provider == "openai"


def test_local_serves_only_its_model():
    with pytest.raises(exceptions.ModelUnavailableError) as info:
        ModelManager(Config()).resolve("local:llama-70b")
    assert "LLM_ORCHESTRATOR_LOCAL_MODEL_PATH" in (info.value.suggestion or "")


def test_local_model_path_setting_changes_the_served_model(tmp_path):
    gguf = tmp_path / "My-Model.Q8_0.gguf"
    gguf.write_bytes(b"")
    manager = ModelManager(Config(providers={"local": {"model_path": str(gguf)}}))
    assert manager.resolve("local").model_id == "local:my-model.q8_0"


def test_missing_local_model_file_is_model_unavailable(tmp_path):
    manager = ModelManager(
        Config(providers={"local": {"model_path": str(tmp_path / "missing.gguf")}})
    )
    resolved = manager.resolve("local")
    with pytest.raises(exceptions.ModelUnavailableError) as info:
        resolved.provider.prepare()
    assert "missing.gguf" in info.value.message


def test_registering_a_second_class_under_a_name_raises():
    class Impostor(BaseProvider):
        provider_name = "openai"

        def _create_chat_model(self, model_name, settings):
            raise NotImplementedError

    with pytest.raises(AlreadyRegistered):
        register_provider(Impostor)
    assert provider_classes()["openai"] is OpenAIProvider


def test_describe_lists_aliases_and_provider_status():
    described = ModelManager(Config(providers={"gemini": {"api_key": "g-key"}})).describe()
    assert described["default_model"] == "local"
    assert described["providers"]["gemini"]["configured"] is True
    assert described["providers"]["openai"] == {
        "type": "cloud",
        "configured": False,
        "api_key_env": "OPENAI_API_KEY",
    }
    assert "g-key" not in repr(described)


def test_capabilities_per_model():
    assert get_capabilities("openai", "gpt-4o-mini").structured_output == "json_schema"
    assert get_capabilities("openai", "gpt-3.5-turbo").structured_output == "function_calling"
    assert get_capabilities("local", "anything").bounded_output is True
    assert get_capabilities("openai", "openhermes").structured_output == "json_schema"
