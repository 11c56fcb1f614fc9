"""Both execution modes are told the same thing: the monolithic prompt is composed of the
very instruction blocks the agentic specialists receive."""

from __future__ import annotations

from agents.pillars import PILLARS_REVIEW_PLAN
from backend.llm.handler_registry import get_handler
from backend.pillars.llm.areas import format_areas
from backend.pillars.llm.prompts import COMPLETENESS_TASK, CONTEXT_TASK, CONTRADICTIONS_TASK

DATA = {
    "pillars": [
        {"name": "Nothing is ever lost", "description": "Players cannot fail."},
        {"name": "One life", "description": "Death ends the world."},
        {"name": "Ten-minute evenings", "description": "A day fits a short session."},
    ],
    "context": {"genre": "cozy sim", "platform": "Switch", "vision": "Tend rock pools."},
}
BLOCKS = {
    "completeness": COMPLETENESS_TASK.format(areas=format_areas()),
    "contradictions": CONTRADICTIONS_TASK,
    "context": CONTEXT_TASK,
}


def _prompt(operation_id: str) -> str:
    return get_handler(operation_id)().build_prompt(DATA)


def test_every_specialists_instructions_appear_verbatim_in_the_monolithic_prompt():
    monolithic = _prompt("pillars.evaluate")
    assert {agent.name for agent in PILLARS_REVIEW_PLAN.agents} == set(BLOCKS)
    for agent in PILLARS_REVIEW_PLAN.agents:
        block = BLOCKS[agent.name]
        assert block in _prompt(agent.operation_id), agent.name
        assert block in monolithic, agent.name


def test_both_modes_get_the_severity_scale_and_the_misfit_threshold():
    from backend.experiments.scoring import COUNTED_SEVERITIES, MISFIT_THRESHOLD

    monolithic = _prompt("pillars.evaluate")
    for text in (monolithic, _prompt("pillars.evaluate_contradictions")):
        assert all(f"{severity} (" in text for severity in ("low", *COUNTED_SEVERITIES))
    for text in (monolithic, _prompt("pillars.evaluate_context")):
        assert f"under {MISFIT_THRESHOLD} means the pillar" in text
