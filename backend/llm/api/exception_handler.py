"""One DRF exception handler: every error becomes ``{"error": {code, message, context,
suggestion}}`` with its HTTP status; no traceback ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from rest_framework import exceptions as drf
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from backend.llm import exceptions as errors

__all__ = ["api_exception_handler", "error_body"]

logger = logging.getLogger("backend.llm.api")


def error_body(error: errors.LLMOrchestratorError) -> dict[str, Any]:
    return {"error": error.to_dict()}


def _drf_problems(detail: Any, prefix: str = "") -> list[dict[str, str]]:
    if isinstance(detail, dict):
        return [p for key, value in detail.items() for p in _drf_problems(value, f"{prefix}{key}.")]
    if isinstance(detail, list):
        return [p for item in detail for p in _drf_problems(item, prefix)]
    return [{"field": prefix.rstrip(".") or "(root)", "error": str(detail)}]


def _translate(exc: Exception, context: dict[str, Any]) -> errors.LLMOrchestratorError | None:
    if isinstance(exc, errors.LLMOrchestratorError):
        return exc
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return errors.AuthenticationError(
            str(exc.detail), suggestion="Send 'Authorization: Token <key>' or log in."
        )
    if isinstance(exc, drf.PermissionDenied):
        return errors.PermissionDeniedError(
            str(exc.detail), suggestion="Ask an administrator for the permission this needs."
        )
    if isinstance(exc, drf.Throttled):
        return errors.RateLimitError(
            "Too many requests.",
            retry_after_s=getattr(exc, "wait", None),
            suggestion="Retry after the delay.",
        )
    if isinstance(exc, drf.ValidationError):
        problems = _drf_problems(exc.detail)
        return errors.ValidationError(
            "Invalid request: " + "; ".join(f"{p['field']}: {p['error']}" for p in problems),
            errors=problems,
        )
    if isinstance(exc, drf.ParseError | RequestDataTooBig):
        return errors.InvalidRequestError(
            str(getattr(exc, "detail", exc)) or "Malformed request body.",
            suggestion="Send a JSON body within the size limit.",
        )
    view = context.get("view")
    if isinstance(exc, drf.NotFound | Http404) and getattr(view, "not_found_error", None):
        return errors.RunNotFoundError(suggestion=errors.RunNotFoundError.default_suggestion)
    return None


def _server_side(error: errors.LLMOrchestratorError) -> tuple[dict[str, Any], int] | None:
    """A provider's rejection of the *server's* credentials is the server's fault, not
    the client's: 502 with its own code, never the 401/403 of the client's own login."""
    provider = error.context.get("provider")
    if provider is None or not isinstance(
        error, errors.AuthenticationError | errors.PermissionDeniedError
    ):
        return None
    code = (
        "provider_authentication_error"
        if isinstance(error, errors.AuthenticationError)
        else "provider_permission_denied"
    )
    body = error.to_dict()
    body.update(
        code=code,
        message=f"The provider '{provider}' rejected this server's credentials. " + body["message"],
        suggestion="A server configuration problem: the administrator should check the "
        f"'{provider}' API key, or use another model.",
    )
    return {"error": body}, 502


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    error = _translate(exc, context)
    if error is not None and (server_side := _server_side(error)) is not None:
        return Response(server_side[0], status=server_side[1])
    if error is not None:
        response = (
            drf_exception_handler(exc, context) if isinstance(exc, drf.APIException) else None
        )
        headers = {
            k: v
            for k, v in (response.headers.items() if response else [])
            if k in ("WWW-Authenticate", "Retry-After")
        }
        return Response(error_body(error), status=error.http_status, headers=headers)
    response = drf_exception_handler(exc, context)
    if response is not None:  # other DRF errors: 404, 405, 406, 415
        code = getattr(exc, "default_code", "error")
        detail = str(getattr(exc, "detail", "")) or "Not found."
        response.data = {
            "error": {"code": code, "message": detail, "context": {}, "suggestion": None}
        }
        return response
    logger.exception("Unhandled error in %s", type(context.get("view")).__name__)
    body = {
        "error": {
            "code": "internal_error",
            "message": "Internal server error.",
            "context": {"cause": type(exc).__name__},
            "suggestion": "Retry; if it persists, report it with the time of the request.",
        }
    }
    return Response(body, status=500)
