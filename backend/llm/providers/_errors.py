"""Translation of SDK and transport exceptions into the orchestrator's typed errors.

Every provider owns a table (exception class -> our error class, or a function that picks
one from the exception, e.g. by HTTP status). ``translate`` looks the exception up in
three tables, each by walking its MRO for the most specific entry (as httpx's
``map_httpcore_exceptions`` does): LangChain's standard model errors first (the vendor
packages raise classes that inherit both those and their SDK's, and the standard
class is the more precise one, e.g. a context overflow inside a 400), then the vendor
table, then fallbacks (httpx, the builtins).
"""

from __future__ import annotations

import builtins
import functools
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeAlias

from langchain_core import exceptions as lc

from .. import exceptions as errors
from ..retry import exception_chain, retry_after_s

__all__ = [
    "STANDARD_ERROR_MAP",
    "ErrorMap",
    "ErrorTarget",
    "fallback_error_map",
    "from_status",
    "http_status",
    "redact",
    "translate",
]

ErrorClass: TypeAlias = type[errors.LLMOrchestratorError]
#: An error class, or a function that picks one from the exception (None: no opinion,
#: the next table decides).
ErrorTarget: TypeAlias = ErrorClass | Callable[[BaseException], ErrorClass | None]
ErrorMap: TypeAlias = Mapping[type[BaseException], ErrorTarget]

_STATUS_ERRORS: dict[int, ErrorClass] = {
    400: errors.ProviderError,  # the provider rejected what we sent: not the caller's input
    401: errors.AuthenticationError,
    403: errors.PermissionDeniedError,
    404: errors.ModelUnavailableError,
    408: errors.TimeoutError,
    413: errors.InsufficientResourcesError,
    429: errors.RateLimitError,
    503: errors.ModelUnavailableError,
    504: errors.TimeoutError,
}


def http_status(exc: BaseException) -> int | None:
    """The HTTP status the provider answered with, when the SDK says."""
    for link in exception_chain(exc):
        for attribute in ("status_code", "code", "status"):
            status = getattr(link, attribute, None)
            if isinstance(status, int) and 100 <= status < 600:
                return status
    return None


def from_status(exc: BaseException) -> ErrorClass:
    """A table entry that picks the error from the HTTP status the provider answered."""
    status = http_status(exc)
    return (
        errors.ProviderError if status is None else _STATUS_ERRORS.get(status, errors.ProviderError)
    )


STANDARD_ERROR_MAP: dict[type[BaseException], ErrorTarget] = {
    # LangChain's provider-neutral taxonomy (langchain-core >= 1.2).
    lc.ModelAuthenticationError: errors.AuthenticationError,
    lc.ModelPermissionDeniedError: errors.PermissionDeniedError,
    lc.ModelInvalidRequestError: errors.ProviderError,
    lc.ModelNotFoundError: errors.ModelUnavailableError,
    lc.ModelRateLimitError: errors.RateLimitError,
    lc.ModelAPIError: from_status,  # e.g. 503: unavailable
    lc.ModelConnectionError: errors.ModelUnavailableError,
    lc.ModelTimeoutError: errors.TimeoutError,
    lc.ContextOverflowError: errors.InsufficientResourcesError,
    lc.ModelRefusalError: errors.ProviderError,
}


@functools.cache
def fallback_error_map() -> dict[type[BaseException], ErrorTarget]:
    """LangChain's base classes, the HTTP client's and the builtins: what is left when no
    vendor or standard entry matched. Built on first use: importing httpx pulls in its
    command line (and ``rich``) for nothing until an error is translated."""
    import httpx

    return {
        lc.ModelError: errors.ProviderError,
        lc.OutputParserException: errors.ProviderError,
        httpx.TimeoutException: errors.TimeoutError,
        httpx.ConnectError: errors.ModelUnavailableError,
        httpx.HTTPStatusError: errors.ProviderError,
        httpx.HTTPError: errors.ProviderError,
        builtins.TimeoutError: errors.TimeoutError,
        builtins.ConnectionError: errors.ModelUnavailableError,
        builtins.MemoryError: errors.InsufficientResourcesError,
    }


_KEY_PATTERN = re.compile(r"\b(sk-[A-Za-z0-9_\-]{8,}|AIza[0-9A-Za-z_\-]{20,})")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove configured secrets, and anything shaped like an OpenAI or Google key."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return _KEY_PATTERN.sub("***", text)


def _lookup(exc: BaseException, table: ErrorMap) -> ErrorClass | None:
    for klass in type(exc).__mro__:
        target = table.get(klass)
        if target is None:
            continue
        if isinstance(target, type):
            return target
        return target(exc)
    return None


def _classify(exc: BaseException, table: ErrorMap, overrides: ErrorMap) -> ErrorClass:
    return (
        _lookup(exc, overrides)
        or _lookup(exc, STANDARD_ERROR_MAP)
        or _lookup(exc, table)
        or _lookup(exc, fallback_error_map())
        or errors.ProviderError
    )


def translate(
    exc: BaseException,
    table: ErrorMap,
    *,
    secrets: Iterable[str] = (),
    hints: Mapping[ErrorClass, str] | None = None,
    overrides: ErrorMap | None = None,
    **context: Any,
) -> errors.LLMOrchestratorError:
    """Our typed error for ``exc``: the vendor's ``overrides`` (what only the vendor can
    tell, e.g. a 400 that means a bad key), standard LangChain classes, the vendor table,
    fallbacks."""
    if isinstance(exc, errors.LLMOrchestratorError):
        return exc
    error_class = _classify(exc, table, overrides or {})
    if error_class is errors.ProviderError:
        # An integration may wrap a precise SDK or transport error (a refused connection)
        # in a vague one of its own: the cause decides then.
        for cause in list(exception_chain(exc))[1:]:
            if (precise := _classify(cause, table, overrides or {})) is not errors.ProviderError:
                error_class = precise
                break
    detail = redact(str(exc) or type(exc).__name__, secrets)[:500]
    suggestion = (hints or {}).get(error_class)
    return error_class(
        f"{error_class.default_message} {detail}",
        suggestion=suggestion,
        sdk_error=type(exc).__name__,
        http_status=http_status(exc),
        retry_after_s=retry_after_s(exc),
        **context,
    )
