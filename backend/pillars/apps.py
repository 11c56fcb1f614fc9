from django.apps import AppConfig


class PillarsConfig(AppConfig):
    name = "backend.pillars"
    label = "pillars"
    verbose_name = "Design pillars"
