"""Test models for feature authors (in the spirit of pydantic-ai's ``TestModel`` and
``FunctionModel``): run your operations through the real orchestrator and graphs with
no model server, no key and no network.

    from backend.llm import LLMOrchestrator
    from backend.llm.testing import FunctionModel, TestModel, by_schema, manager_for

    orchestrator = LLMOrchestrator(model_manager=manager_for(TestModel()))
    orchestrator.execute(request)  # results: a valid instance of the response schema

    model = FunctionModel(by_schema({"MoodboardAnalysis": {"palette": ["teal"], ...}}))

``TestModel`` answers any response schema with a valid instance generated from the
schema itself; ``FunctionModel`` answers with a function of the call (``CallInfo``:
the messages, the response schema and its name, the graph node asking), so a test
routes by schema or node, never by prompt wording. Both count their calls and report
token usage like a real model. A function may return a dict or ``BaseModel`` (sent as
JSON), a string (sent as is, e.g. invalid JSON), or an exception to raise: SDK
exceptions are translated as the OpenAI adapter translates them.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from langchain_core.callbacks import AsyncCallbackManagerForLLMRun, CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, BaseMessage
from langchain_core.output_parsers import JsonOutputParser
from langchain_core.outputs import ChatGeneration, ChatResult
from langchain_core.runnables import Runnable, RunnablePassthrough
from pydantic import BaseModel, ConfigDict, Field

from ._schema import inline_refs, model_schema
from .config import Config
from .providers import BaseProvider, ModelManager, ModelSettings
from .providers._errors import ErrorMap

__all__ = [
    "CallInfo",
    "FunctionModel",
    "ModelFunction",
    "Reply",
    "TestModel",
    "TestProvider",
    "by_schema",
    "instance_for",
    "manager_for",
    "sequence",
]

Reply = str | Mapping[str, Any] | BaseModel | BaseException


@dataclass(frozen=True)
class CallInfo:
    """One model call as the test model saw it."""

    messages: list[BaseMessage]
    #: The JSON schema the answer must match (None for a plain text call).
    schema: dict[str, Any] | None
    #: The LangGraph node that made the call ("generate", "completeness", ...), if any.
    node: str | None

    @property
    def schema_name(self) -> str | None:
        return str(self.schema.get("title")) if self.schema else None


ModelFunction = Callable[[CallInfo], Reply]


def _message(reply: Reply) -> AIMessage:
    if isinstance(reply, BaseException):
        raise reply
    if isinstance(reply, BaseModel):
        text = reply.model_dump_json()
    else:
        text = reply if isinstance(reply, str) else json.dumps(reply)
    tokens = max(1, len(text) // 4)
    return AIMessage(
        content=text,
        usage_metadata={"input_tokens": 10, "output_tokens": tokens, "total_tokens": 10 + tokens},
    )


class FunctionModel(BaseChatModel):
    """A chat model whose answers come from ``function(call_info)``.

    ``delay_s`` simulates latency (``time.sleep`` sync, ``asyncio.sleep`` async).
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    function: ModelFunction
    delay_s: float = 0.0
    calls: list[CallInfo] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "function"

    def _info(
        self,
        messages: list[BaseMessage],
        run_manager: CallbackManagerForLLMRun | AsyncCallbackManagerForLLMRun | None,
        schema: dict[str, Any] | None,
    ) -> CallInfo:
        metadata = (run_manager.metadata if run_manager else None) or {}
        info = CallInfo(list(messages), schema, metadata.get("langgraph_node"))
        self.calls.append(info)
        return info

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        info = self._info(messages, run_manager, kwargs.get("response_schema"))
        if self.delay_s:
            time.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=_message(self.function(info)))])

    async def _agenerate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: AsyncCallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        info = self._info(messages, run_manager, kwargs.get("response_schema"))
        if self.delay_s:
            await asyncio.sleep(self.delay_s)
        return ChatResult(generations=[ChatGeneration(message=_message(self.function(info)))])

    def with_structured_output(
        self,
        schema: dict[str, Any] | type[BaseModel],
        *,
        method: str = "json_schema",
        include_raw: bool = False,
        **kwargs: Any,
    ) -> Runnable[Any, Any]:
        if isinstance(schema, type):
            schema = model_schema(schema, bounded=False)
        # Shaped like every vendor integration's: the bound model, then a parser (with
        # the raw message alongside, and parse errors caught, for ``include_raw``).
        bound = self.bind(response_schema=schema)
        if not include_raw:
            return bound | JsonOutputParser()
        parse = RunnablePassthrough.assign(
            parsed=itemgetter("raw") | JsonOutputParser(), parsing_error=lambda _: None
        ).with_fallbacks(
            [RunnablePassthrough.assign(parsed=lambda _: None)], exception_key="parsing_error"
        )
        return {"raw": bound} | parse


def _sample(schema: Mapping[str, Any]) -> Any:
    """A value valid for a JSON schema (inlined, as the orchestrator sends them)."""
    if "const" in schema:
        return schema["const"]
    if "enum" in schema:
        return schema["enum"][0]
    for key in ("anyOf", "oneOf"):
        if key in schema:
            options = [o for o in schema[key] if o.get("type") != "null"] or schema[key]
            return _sample(options[0])
    kind = schema.get("type", "object")
    if kind == "object":
        properties: Mapping[str, Any] = schema.get("properties", {})
        return {name: _sample(prop) for name, prop in properties.items()}
    if kind == "array":
        return [_sample(schema.get("items", {})) for _ in range(schema.get("minItems", 1))]
    if kind == "string":
        text = "text" * max(1, -(-int(schema.get("minLength", 0)) // 4))
        return text[: schema.get("maxLength", len(text))]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        high = schema.get("maximum", low + 100)
        return int((low + high) // 2) if kind == "integer" else (low + high) / 2
    if kind == "boolean":
        return True
    return None


def instance_for(schema: dict[str, Any] | type[BaseModel]) -> Any:
    """A valid answer for ``schema`` (a JSON schema, ``$defs`` and all, or a model class)."""
    if isinstance(schema, type):
        schema = model_schema(schema, bounded=False)
    return _sample(inline_refs(schema))


class TestModel(FunctionModel):
    """Answers every structured call with a valid instance generated from its schema."""

    __test__ = False  # not a pytest test class

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(function=_generated, **kwargs)


def _generated(call: CallInfo) -> Reply:
    return instance_for(call.schema) if call.schema else "text"


def by_schema(
    answers: Mapping[str, Reply | ModelFunction], default: ModelFunction | None = _generated
) -> ModelFunction:
    """Route by response schema name (its JSON schema title, e.g. "PillarValidation"): a
    fixed reply, or a function of the call. Other schemas get ``default`` (a generated
    instance; None makes an unexpected schema fail the test)."""

    def answer(call: CallInfo) -> Reply:
        reply = answers.get(call.schema_name or "")
        if reply is None:
            if default is None:
                raise AssertionError(f"no answer for schema {call.schema_name!r}")
            return default(call)
        return reply(call) if callable(reply) else reply

    return answer


def sequence(*replies: Reply) -> ModelFunction:
    """Answer with ``replies`` in turn; the last one repeats."""
    queue = list(replies)

    def answer(call: CallInfo) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return answer


class TestProvider(BaseProvider):
    """Provider ``test``: every model name is the given test model. Not registered
    globally; ``manager_for`` plugs it into a ``ModelManager``."""

    __test__ = False
    provider_name = "test"
    provider_type = "local"

    def __init__(self, model: FunctionModel | None = None) -> None:
        super().__init__({})
        self.model = model or TestModel()

    def sdk_error_map(self) -> ErrorMap:
        from .providers.openai_provider import openai_error_map

        return openai_error_map()

    def truncation_errors(self) -> tuple[type[BaseException], ...]:
        import openai

        return (openai.LengthFinishReasonError,)

    def _create_chat_model(self, model_name: str, settings: ModelSettings) -> BaseChatModel:
        return self.model


def manager_for(model: FunctionModel | None = None, **config: Any) -> ModelManager:
    """A ``ModelManager`` whose default model (``test:default``) is ``model``; ``config``
    overrides ``Config`` fields. Real providers stay reachable by name."""
    settings = Config(**{"default_model": "test:default", **config})
    return ModelManager(settings, providers={"test": TestProvider(model)})
