"""A provider for experiment tests in a subprocess: the library's test model, 0.3 s per
call, registered as ``slowtest`` (imported only by the tests that need it)."""

from __future__ import annotations

from backend.llm.providers import register_provider
from backend.llm.testing import FunctionModel, TestProvider, instance_for


@register_provider
class SlowTestProvider(TestProvider):
    provider_name = "slowtest"

    def __init__(self, settings: object = None) -> None:
        super().__init__(
            FunctionModel(function=lambda call: instance_for(call.schema or {}), delay_s=0.3)
        )
