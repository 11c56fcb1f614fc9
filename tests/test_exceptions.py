from __future__ import annotations

import builtins

import pytest

from backend.llm import exceptions
from backend.llm.exceptions import LLMOrchestratorError, all_error_classes

SPEC_STATUSES = {
    "InvalidRequestError": 400,
    "ValidationError": 400,
    "UnknownFeatureError": 400,
    "UnknownOperationError": 400,
    "AuthenticationError": 401,
    "PermissionDeniedError": 403,
    "RunNotFoundError": 404,
    "IdempotencyConflictError": 409,
    "RateLimitError": 429,
    "AgentFailureError": 500,
    "ProviderError": 502,
    "ModelUnavailableError": 503,
    "InsufficientResourcesError": 503,
    "TimeoutError": 504,
}


def test_the_fourteen_errors_have_the_spec_statuses():
    assert {cls.__name__: cls.http_status for cls in all_error_classes()} == SPEC_STATUSES
    for name in SPEC_STATUSES:
        cls = getattr(exceptions, name)
        assert issubclass(cls, LLMOrchestratorError)
        assert name in exceptions.__all__


def test_codes_are_unique_and_each_class_has_a_default_suggestion():
    codes = [cls.code for cls in all_error_classes()]
    assert len(set(codes)) == 14
    assert all(cls.default_suggestion for cls in all_error_classes())


def test_tree_is_drawn_in_the_module_docstring():
    doc = exceptions.__doc__ or ""
    for name, status in SPEC_STATUSES.items():
        assert name in doc
        assert str(status) in doc


def test_to_dict_carries_code_message_context_and_suggestion():
    error = exceptions.ProviderError(
        provider="anthropic", message="API key is required", model="claude"
    )
    assert error.to_dict() == {
        "code": "provider_error",
        "message": "API key is required",
        "context": {"provider": "anthropic", "model": "claude"},
        "suggestion": exceptions.ProviderError.default_suggestion,
    }


@pytest.mark.parametrize("key", ["api_key", "OPENAI_API_KEY", "authorization", "client_secret"])
def test_credentials_in_context_are_masked(key):
    error = exceptions.AuthenticationError(
        "bad", context={key: "sk-live-123", "nested": {key: "x"}}
    )
    assert error.context[key] == "***"
    assert error.context["nested"][key] == "***"
    assert "sk-live-123" not in repr(error.to_dict())


def test_token_counts_are_not_mistaken_for_credentials():
    error = exceptions.ProviderError("x", token_usage={"total_tokens": 3})
    assert error.context["token_usage"] == {"total_tokens": 3}


def test_timeout_error_is_also_the_builtin_timeout():
    assert isinstance(exceptions.TimeoutError(), builtins.TimeoutError)
    assert exceptions.TimeoutError().http_status == 504


def test_a_context_with_an_infinite_or_nan_number_is_still_strict_json():
    import json

    error = exceptions.RateLimitError(retry_after_s=float("inf"), nested={"x": [float("nan")]})
    body = error.to_dict()
    json.dumps(body, allow_nan=False)  # what a JSON column or strict client accepts
    assert body["context"]["retry_after_s"] == "inf"
    assert body["context"]["nested"] == {"x": ["nan"]}
