"""The orchestrator's typed errors: one root, fourteen leaves, HTTP status on each class.

Every error raised out of ``LLMOrchestrator.execute`` is one of these. Provider SDK
errors are translated at the provider boundary (``BaseProvider.translate_error``),
so callers never see an ``openai``, ``google.genai`` or ``ollama`` exception.

    LLMOrchestratorError
    ├── InvalidRequestError ............ 400  malformed request (bad mode, unknown model, ...)
    │   ├── ValidationError ............ 400  ``data`` failed the operation's input schema
    │   ├── UnknownFeatureError ........ 400  no handler registered for the feature
    │   └── UnknownOperationError ...... 400  the feature has no such operation
    ├── AuthenticationError ............ 401  missing or rejected provider credentials
    ├── PermissionDeniedError .......... 403  credentials valid but not allowed
    ├── RunNotFoundError ............... 404  no run with that id (for this caller)
    ├── IdempotencyConflictError ....... 409  same idempotency key, different request
    ├── RateLimitError ................. 429  provider or API rate limit hit
    ├── AgentFailureError .............. 500  an agent (graph node) failed
    ├── ProviderError .................. 502  the provider failed or returned unusable output
    ├── ModelUnavailableError .......... 503  model not served / provider unreachable
    ├── InsufficientResourcesError ..... 503  out of memory, context window, quota
    └── TimeoutError ................... 504  the run exceeded its deadline

Each instance carries ``code``, ``http_status``, ``message``, ``context`` and
``suggestion``; ``to_dict()`` is the API body. Context values whose key looks like a
credential are masked so that a key can never leak through an error.
"""

from __future__ import annotations

import builtins
import math
from collections.abc import Mapping
from typing import Any, ClassVar

__all__ = [
    "AgentFailureError",
    "AuthenticationError",
    "IdempotencyConflictError",
    "InsufficientResourcesError",
    "InvalidRequestError",
    "LLMOrchestratorError",
    "ModelUnavailableError",
    "PermissionDeniedError",
    "ProviderError",
    "RateLimitError",
    "RunNotFoundError",
    "TimeoutError",
    "UnknownFeatureError",
    "UnknownOperationError",
    "ValidationError",
    "all_error_classes",
]

_SECRET_MARKERS = (
    "api_key",
    "apikey",
    "secret",
    "password",
    "access_token",
    "auth_token",
    "bearer",
    "authorization",
    "credential",
)
_REDACTED = "***"


def _mask(key: str, value: Any) -> Any:
    lowered = key.lower()
    if any(marker in lowered for marker in _SECRET_MARKERS):
        return _REDACTED if value else value
    if isinstance(value, Mapping):
        return {str(k): _mask(str(k), v) for k, v in value.items()}
    return value


class LLMOrchestratorError(Exception):
    """Root of every orchestrator error."""

    code: ClassVar[str] = "orchestrator_error"
    http_status: ClassVar[int] = 500
    default_message: ClassVar[str] = "The LLM orchestrator failed."
    default_suggestion: ClassVar[str | None] = None

    def __init__(
        self,
        message: str | None = None,
        *,
        context: Mapping[str, Any] | None = None,
        suggestion: str | None = None,
        **context_fields: Any,
    ) -> None:
        self.message = message or self.default_message
        merged = {**(context or {}), **context_fields}
        self.context: dict[str, Any] = {
            key: _mask(key, value) for key, value in merged.items() if value is not None
        }
        self.suggestion = suggestion if suggestion is not None else self.default_suggestion
        super().__init__(self.message)

    def __str__(self) -> str:
        return f"{self.message} Suggestion: {self.suggestion}" if self.suggestion else self.message

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"

    @staticmethod
    def from_dict(payload: Mapping[str, Any]) -> LLMOrchestratorError:
        """Rebuild a stored error (``to_dict()`` output) as its typed class."""
        classes = {cls.code: cls for cls in all_error_classes()}
        cls = classes.get(str(payload.get("code")), AgentFailureError)
        return cls(
            str(payload.get("message") or cls.default_message),
            context=payload.get("context") or {},
            suggestion=payload.get("suggestion"),
        )

    def to_dict(self) -> dict[str, Any]:
        """The body of an API error response (without the outer ``error`` key)."""
        return {
            "code": self.code,
            "message": self.message,
            "context": _strict_json(self.context),
            "suggestion": self.suggestion,
        }


class InvalidRequestError(LLMOrchestratorError):
    code = "invalid_request"
    http_status = 400
    default_message = "The request is malformed."
    default_suggestion = "Check the request fields against the API documentation."


class ValidationError(InvalidRequestError):
    code = "validation_error"
    default_message = "The request data failed validation."
    default_suggestion = "Fix the fields listed in context['errors'] and retry."


class UnknownFeatureError(InvalidRequestError):
    code = "unknown_feature"
    default_message = "Unknown feature."
    default_suggestion = "Use one of the features in context['known_features']."


class UnknownOperationError(InvalidRequestError):
    code = "unknown_operation"
    default_message = "Unknown operation."
    default_suggestion = "Use one of the operations in context['known_operations']."


class AuthenticationError(LLMOrchestratorError):
    code = "authentication_error"
    http_status = 401
    default_message = "Authentication with the provider failed."
    default_suggestion = "Set the provider's API key, or use the keyless embedded model 'local'."


class PermissionDeniedError(LLMOrchestratorError):
    code = "permission_denied"
    http_status = 403
    default_message = "Permission denied."
    default_suggestion = "Check that the credentials are allowed to use this model or resource."


class RunNotFoundError(LLMOrchestratorError):
    code = "run_not_found"
    http_status = 404
    default_message = "Run not found."
    default_suggestion = "Check the run id; runs are visible only to their owner."


class IdempotencyConflictError(LLMOrchestratorError):
    code = "idempotency_conflict"
    http_status = 409
    default_message = "The idempotency key was already used with a different request."
    default_suggestion = "Use a new Idempotency-Key for a different request body."


class RateLimitError(LLMOrchestratorError):
    code = "rate_limit_exceeded"
    http_status = 429
    default_message = "Rate limit exceeded."
    default_suggestion = "Wait and retry with backoff, or switch to another model."


class AgentFailureError(LLMOrchestratorError):
    code = "agent_failure"
    http_status = 500
    default_message = "An agent failed during execution."
    default_suggestion = "See context for the failing agent and its error."


class ProviderError(LLMOrchestratorError):
    code = "provider_error"
    http_status = 502
    default_message = "The model provider returned an error."
    default_suggestion = "Retry later, or try another model."


class ModelUnavailableError(LLMOrchestratorError):
    code = "model_unavailable"
    http_status = 503
    default_message = "The model is not available."
    default_suggestion = "Check that the provider is running and serves this model."


class InsufficientResourcesError(LLMOrchestratorError):
    code = "insufficient_resources"
    http_status = 503
    default_message = "Not enough resources to run the request."
    default_suggestion = (
        "Shorten the input, lower max tokens, or use a model with a larger context."
    )


class TimeoutError(LLMOrchestratorError, builtins.TimeoutError):
    code = "timeout"
    http_status = 504
    default_message = "The operation timed out."
    default_suggestion = "Raise timeout_ms, or use a faster model."


def all_error_classes() -> list[type[LLMOrchestratorError]]:
    """The fourteen concrete error classes, in the order of the module docstring."""
    return [
        InvalidRequestError,
        ValidationError,
        UnknownFeatureError,
        UnknownOperationError,
        AuthenticationError,
        PermissionDeniedError,
        RunNotFoundError,
        IdempotencyConflictError,
        RateLimitError,
        AgentFailureError,
        ProviderError,
        ModelUnavailableError,
        InsufficientResourcesError,
        TimeoutError,
    ]


def _strict_json(value: Any) -> Any:
    """The context as strict JSON: an infinite or NaN float (which JSON columns and
    strict parsers reject, so the failure could not be stored) becomes its text."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {key: _strict_json(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_strict_json(item) for item in value]
    return value
