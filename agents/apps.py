from __future__ import annotations

from django.apps import AppConfig


class AgentsConfig(AppConfig):
    """Registers the agent plans; listed after the feature apps whose operations they serve."""

    name = "agents"
    label = "agents"
    verbose_name = "Specialist agents"

    def ready(self) -> None:
        from backend.llm.plan_registry import register_plan

        from .pillars import PILLARS_REVIEW_PLAN

        register_plan(PILLARS_REVIEW_PLAN)
