"""The API's JSON parser: DRF's, with nesting too deep for Python's parser a 400."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

__all__ = ["JSONParser"]


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: Any = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            # Around 1,000 levels Python's parser gives up; a request that deep is
            # malformed, not a server fault (``data`` itself is capped at 16 levels).
            raise ParseError("JSON parse error - the body is nested too deeply.") from None
