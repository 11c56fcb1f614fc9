"""Rejects, before any view or database sees it, text no database can store: a NUL in
the path or the query string (PostgreSQL refuses it in every text column and filter)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, JsonResponse

from backend.llm import exceptions as errors

from .exception_handler import error_body

__all__ = ["RejectUnstorableText"]


class RejectUnstorableText:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        texts = [request.path, *request.GET.keys()]
        texts += [value for values in request.GET.lists() for value in values[1]]
        if any("\x00" in text for text in texts):
            error = errors.InvalidRequestError(
                "The URL contains a NUL character.",
                suggestion="Remove NUL (%00) from the path and the query string.",
            )
            return JsonResponse(error_body(error), status=error.http_status)
        return self.get_response(request)
