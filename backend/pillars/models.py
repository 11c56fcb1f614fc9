"""A game design (the pillar set and its context) and its pillars, owned by a user."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models

__all__ = ["GameDesign", "Pillar"]


class GameDesign(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="game_designs"
    )
    title = models.CharField(max_length=200)
    genre = models.CharField(max_length=200, blank=True)
    audience = models.CharField(max_length=300, blank=True)
    platform = models.CharField(max_length=200, blank=True)
    vision = models.TextField(max_length=4000, blank=True)
    constraints = models.TextField(max_length=2000, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("-updated_at",)

    def __str__(self) -> str:
        return self.title

    def llm_context(self) -> dict[str, Any]:
        """The ``context`` of the pillar operations (empty fields left out)."""
        fields = ("title", "genre", "audience", "platform", "vision", "constraints")
        return {name: getattr(self, name) for name in fields if getattr(self, name)}

    def llm_pillar_set(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "pillars": [pillar.llm_input() for pillar in self.pillars.all()],
        }
        if context := self.llm_context():
            data["context"] = context
        return data


class Pillar(models.Model):
    design = models.ForeignKey(GameDesign, on_delete=models.CASCADE, related_name="pillars")
    name = models.CharField(max_length=120)
    description = models.TextField(max_length=4000)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ("position", "id")

    def __str__(self) -> str:
        return self.name

    def llm_input(self) -> dict[str, str]:
        return {"name": self.name, "description": self.description}
