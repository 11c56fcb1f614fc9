"""Test doubles: a chat model driven by a Python function, and a provider serving it.

Unit tests of graph and orchestrator logic use these; tests of what a user runs use
the real embedded model (``tests/test_embedded_model.py``).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Sequence
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda
from pydantic import ConfigDict, Field

from backend.llm.config import Config
from backend.llm.providers import BaseProvider, ModelManager, ModelSettings
from backend.llm.providers._errors import ErrorMap
from backend.llm.providers.openai_provider import openai_error_map

Reply = str | dict[str, Any] | BaseException
ReplyFunction = Callable[[Sequence[BaseMessage]], Reply]


def _message(reply: Reply) -> AIMessage:
    if isinstance(reply, BaseException):
        raise reply
    text = reply if isinstance(reply, str) else json.dumps(reply)
    tokens = max(1, len(text) // 4)
    return AIMessage(
        content=text,
        usage_metadata={"input_tokens": 10, "output_tokens": tokens, "total_tokens": 10 + tokens},
    )


class FunctionChatModel(BaseChatModel):
    """Answers with ``function(messages)``: a JSON string, a dict, or an exception to raise.

    ``delay_s`` simulates latency (``time.sleep`` sync, ``asyncio.sleep`` async).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    function: ReplyFunction
    delay_s: float = 0.0
    calls: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "function"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if self.delay_s:
            time.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=_message(self.function(messages)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        self.calls.append(list(messages))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=_message(self.function(messages)))])

    def with_structured_output(
        self, schema: Any, *, method: str = "json_schema", include_raw: bool = False, **kwargs: Any
    ) -> Runnable[Any, Any]:
        def parse(message: AIMessage) -> dict[str, Any]:
            try:
                return {"raw": message, "parsed": json.loads(message.text), "parsing_error": None}
            except json.JSONDecodeError as exc:
                return {"raw": message, "parsed": None, "parsing_error": exc}

        return self | RunnableLambda(parse)


class FunctionProvider(BaseProvider):
    """Provider ``fake`` whose every model is a ``FunctionChatModel``."""

    provider_name = "fake"
    provider_type = "local"

    def __init__(self, function: ReplyFunction, *, delay_s: float = 0.0) -> None:
        super().__init__({})
        self.function = function
        self.delay_s = delay_s
        self.models: list[FunctionChatModel] = []

    def truncation_errors(self) -> tuple[type[BaseException], ...]:
        # The double speaks for an OpenAI-compatible server when a test raises the
        # SDK's "answer cut off at max_tokens" error.
        import openai

        return (openai.LengthFinishReasonError,)

    def sdk_error_map(self) -> ErrorMap:
        return openai_error_map()

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        model = FunctionChatModel(function=self.function, delay_s=self.delay_s, calls=[])
        self.models.append(model)
        return model

    @property
    def calls(self) -> list[list[BaseMessage]]:
        return [call for model in self.models for call in model.calls]


def fake_manager(
    function: ReplyFunction, *, delay_s: float = 0.0, **config: Any
) -> tuple[ModelManager, FunctionProvider]:
    provider = FunctionProvider(function, delay_s=delay_s)
    settings = Config(default_model="fake:test", **config)
    return ModelManager(settings, providers={"fake": provider}), provider


def replies(*answers: Reply) -> ReplyFunction:
    """A function answering with ``answers`` in turn (the last one repeats)."""
    queue = list(answers)

    def answer(messages: Sequence[BaseMessage]) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer
