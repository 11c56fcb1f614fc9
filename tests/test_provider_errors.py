"""Every SDK exception class is mapped at the provider boundary (a new upstream class fails)."""

from __future__ import annotations

import inspect
import types

import httpx
import httpx2
import pytest

from backend.llm import exceptions
from backend.llm.config import Config
from backend.llm.providers import GeminiProvider, ModelManager, OllamaProvider, OpenAIProvider
from backend.llm.providers._errors import redact, translate
from backend.llm.providers.gemini_provider import gemini_error_map
from backend.llm.providers.ollama_provider import ollama_error_map
from backend.llm.providers.openai_provider import openai_error_map


def _exception_classes(*modules: types.ModuleType) -> set[type[BaseException]]:
    found = set()
    for module in modules:
        for name, value in inspect.getmembers(module, inspect.isclass):
            public = not name.startswith("_")
            own = value.__module__.split(".")[0] == module.__name__.split(".")[0]
            if issubclass(value, BaseException) and public and own:
                found.add(value)
    return found


def test_every_openai_exception_class_is_in_the_table():
    import openai

    missing = _exception_classes(openai) - set(openai_error_map())
    assert not missing, f"unmapped openai exceptions: {sorted(c.__name__ for c in missing)}"


def test_every_google_genai_exception_class_is_in_the_table():
    from google.genai import errors as genai

    classes = {c for c in _exception_classes(genai) if not issubclass(c, Warning)}
    missing = classes - set(gemini_error_map())
    assert not missing, f"unmapped google.genai exceptions: {sorted(c.__name__ for c in missing)}"


def test_every_ollama_exception_class_is_in_the_table():
    import ollama

    missing = _exception_classes(ollama) - set(ollama_error_map())
    assert not missing, f"unmapped ollama exceptions: {sorted(c.__name__ for c in missing)}"


def _openai_status_error(status: int):
    import openai

    request = httpx2.Request("POST", "https://api.openai.com/v1/chat/completions")
    response = httpx2.Response(status, request=request, json={"error": {"message": "nope"}})
    cls = {
        400: openai.BadRequestError,
        401: openai.AuthenticationError,
        403: openai.PermissionDeniedError,
        404: openai.NotFoundError,
        429: openai.RateLimitError,
        500: openai.InternalServerError,
    }.get(status, openai.APIStatusError)
    return cls("nope", response=response, body=None)


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, exceptions.ProviderError),
        (401, exceptions.AuthenticationError),
        (403, exceptions.PermissionDeniedError),
        (404, exceptions.ModelUnavailableError),
        (429, exceptions.RateLimitError),
        (500, exceptions.ProviderError),
        (503, exceptions.ModelUnavailableError),
        (413, exceptions.InsufficientResourcesError),
    ],
)
def test_openai_status_errors(status, expected):
    provider = OpenAIProvider()
    error = provider.translate_error(_openai_status_error(status), model="openai:gpt-4o-mini")
    assert type(error) is expected
    assert error.context["provider"] == "openai"
    assert error.context["sdk_error"]


def test_openai_connection_and_timeout_errors():
    import openai

    request = httpx2.Request("POST", "http://127.0.0.1:1/v1/chat/completions")
    provider = OpenAIProvider({})
    assert isinstance(
        provider.translate_error(openai.APIConnectionError(request=request)),
        exceptions.ModelUnavailableError,
    )
    assert isinstance(
        provider.translate_error(openai.APITimeoutError(request=request)), exceptions.TimeoutError
    )


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (400, exceptions.ProviderError),
        (401, exceptions.AuthenticationError),
        (403, exceptions.PermissionDeniedError),
        (404, exceptions.ModelUnavailableError),
        (429, exceptions.RateLimitError),
        (500, exceptions.ProviderError),
    ],
)
def test_gemini_errors_by_code(code, expected):
    from google.genai import errors as genai

    cls = genai.ServerError if code >= 500 else genai.ClientError
    exc = cls(code, {"error": {"message": "x", "status": "X"}})
    assert type(GeminiProvider({}).translate_error(exc)) is expected


def test_langchain_google_wrappers_are_mapped_through_the_common_table():
    from langchain_google_genai.chat_models import GoogleRateLimitError

    assert isinstance(
        GeminiProvider({}).translate_error(GoogleRateLimitError("slow down")),
        exceptions.RateLimitError,
    )


@pytest.mark.parametrize(
    ("status", "expected"),
    [(404, exceptions.ModelUnavailableError), (500, exceptions.ProviderError)],
)
def test_ollama_response_errors(status, expected):
    import ollama

    error = OllamaProvider({}).translate_error(ollama.ResponseError("model not found", status))
    assert type(error) is expected
    if expected is exceptions.ModelUnavailableError:
        assert "ollama pull" in (error.suggestion or "")


def test_unreachable_ollama_is_model_unavailable():
    error = OllamaProvider({}).translate_error(ConnectionError("Failed to connect to Ollama"))
    assert isinstance(error, exceptions.ModelUnavailableError)


def test_unknown_exception_falls_back_to_provider_error():
    assert type(translate(KeyError("x"), {})) is exceptions.ProviderError


def test_typed_errors_pass_through_unchanged():
    error = exceptions.RateLimitError()
    assert translate(error, {}) is error


def test_api_key_never_appears_in_translated_errors():
    secret = "sk-proj-canary0123456789abcdef"
    provider = OpenAIProvider({"api_key": secret})
    error = provider.translate_error(RuntimeError(f"bad key {secret} rejected"))
    assert secret not in str(error.to_dict())
    assert secret not in str(error)


def test_redact_masks_key_shaped_strings():
    assert redact("key AIzaSyA-abcdefghijklmnopqrstuvwxyz012 bad") == "key *** bad"
    assert redact("token=hunter2", ["hunter2"]) == "token=***"


def test_manager_chat_model_errors_are_translated(monkeypatch):
    manager = ModelManager(Config(providers={"openai": {"api_key": "sk-test-construct"}}))
    resolved = manager.resolve("openai")

    def boom(*args, **kwargs):
        raise httpx.ConnectError("refused")

    monkeypatch.setattr(OpenAIProvider, "_create_chat_model", boom)
    from backend.llm.providers import ModelSettings

    with pytest.raises(exceptions.ModelUnavailableError):
        resolved.chat_model(ModelSettings())
