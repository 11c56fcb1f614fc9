"""Specialised agents of the agentic mode, registered as plans with the core.

``AgentsConfig.ready()`` registers each plan for the operation it serves; the core
and the features never import this package.
"""

from __future__ import annotations

from .pillars import PILLARS_REVIEW_PLAN

__all__ = ["PILLARS_REVIEW_PLAN"]
