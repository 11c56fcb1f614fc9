from django.contrib import admin

from .models import GameDesign, Pillar


class PillarInline(admin.TabularInline[Pillar, GameDesign]):
    model = Pillar
    extra = 0


@admin.register(GameDesign)
class GameDesignAdmin(admin.ModelAdmin[GameDesign]):
    list_display = ("title", "owner", "genre", "platform", "updated_at")
    search_fields = ("title", "owner__username", "genre")
    inlines = (PillarInline,)


@admin.register(Pillar)
class PillarAdmin(admin.ModelAdmin[Pillar]):
    list_display = ("name", "design", "position", "updated_at")
    search_fields = ("name", "description", "design__title")
