"""A chat model bound to answer in one schema, and how its answer is read.

The vendor integrations know how to *ask* for structured output (OpenAI's
``response_format``, Gemini's ``response_json_schema``, Ollama's ``format``, tools for
function calling), so the binding comes from their ``with_structured_output``. Reading the
answer is ours: one plain call returns the raw message, whose token usage we need, and we
parse it ourselves. LangChain's ``include_raw=True`` chain does the same through half a
dozen nested runnables, each traced, which cost more client CPU than the call itself
against a fast server (``bench/concurrency.py``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.utils.json import parse_json_markdown

if TYPE_CHECKING:
    from langchain_core.language_models import BaseChatModel
    from langchain_core.runnables import Runnable

__all__ = ["InvalidAnswerError", "StructuredModel", "blocked_reason", "parse_answer"]

#: Finish reasons that mean the provider withheld the answer (Gemini's, OpenAI's).
_BLOCKING_FINISH_REASONS = frozenset(
    {
        "SAFETY",
        "PROHIBITED_CONTENT",
        "BLOCKLIST",
        "SPII",
        "RECITATION",
        "IMAGE_SAFETY",
        "content_filter",
    }
)


class InvalidAnswerError(ValueError):
    """The answer holds no JSON object (empty, cut off, prose, no tool call)."""


def blocked_reason(message: BaseMessage) -> str | None:
    """Why the provider withheld the answer (a safety filter), or None. Asking again
    the same way is blocked again, so this is not a schema failure to repair."""
    metadata = message.response_metadata or {}
    feedback = metadata.get("prompt_feedback") or {}
    reason = feedback.get("block_reason") if isinstance(feedback, dict) else None
    if reason:
        return str(getattr(reason, "value", reason))
    finish = metadata.get("finish_reason")
    finish = str(getattr(finish, "value", finish)) if finish else None
    return finish if finish in _BLOCKING_FINISH_REASONS else None


def parse_answer(message: BaseMessage, method: str) -> dict[str, Any]:
    """The JSON object of a structured answer: the first tool call's arguments for
    function calling, else the text (fenced or not)."""
    if method == "function_calling":
        calls = getattr(message, "tool_calls", None) or []
        if not calls:
            raise InvalidAnswerError("the answer has no tool call")
        return dict(calls[0]["args"])
    text = message.text if isinstance(message, AIMessage) else str(message.content)
    if not text.strip():
        # Gemini answers MALFORMED_FUNCTION_CALL with no text at all.
        raise InvalidAnswerError("the answer is empty")
    try:
        parsed = parse_json_markdown(text)
    except ValueError as exc:
        raise InvalidAnswerError("the answer is not valid JSON") from exc
    if not isinstance(parsed, dict):
        raise InvalidAnswerError("the answer is not a JSON object")
    return parsed


@dataclass(frozen=True)
class StructuredModel:
    """``runnable`` maps messages to the raw ``AIMessage``; ``parse`` reads it."""

    runnable: Runnable[Any, Any]
    method: str

    @classmethod
    def bind(cls, chat: BaseChatModel, schema: dict[str, Any], method: str) -> StructuredModel:
        wrapped = chat.with_structured_output(schema, method=method)
        # Every integration returns ``bound_model | parser``: keep the bound model.
        from langchain_core.runnables import RunnableSequence  # with tracers: only when used

        if not isinstance(wrapped, RunnableSequence):
            raise TypeError(f"{type(chat).__name__}.with_structured_output is not model | parser")
        return cls(wrapped.first, method)

    def parse(self, message: BaseMessage) -> dict[str, Any]:
        return parse_answer(message, self.method)
