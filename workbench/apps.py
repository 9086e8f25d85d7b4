from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    """The Feedback team's request workbench in the admin (no models of its own), and the
    overview the admin opens on."""

    name = "workbench"
    verbose_name = "Feedback team's workbench"

    def ready(self):
        from .overview import register_workbench_sections

        register_workbench_sections()
