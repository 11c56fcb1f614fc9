from __future__ import annotations

from django.apps import AppConfig


class ExperimentsConfig(AppConfig):
    name = "backend.experiments"
    label = "experiments"
    verbose_name = "Thesis experiments"

    def ready(self) -> None:
        from backend.llm.management.subcommands import register_subcommand

        from .commands import ExperimentCommand, ReportCommand
        from .dataset_commands import DatasetCommand

        register_subcommand(ExperimentCommand())
        register_subcommand(ReportCommand())
        register_subcommand(DatasetCommand())
