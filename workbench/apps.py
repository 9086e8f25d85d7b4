from django.apps import AppConfig


class WorkbenchConfig(AppConfig):
    """The Feedback team's request workbench in the admin (no models of its own)."""

    name = "workbench"
    verbose_name = "Feedback team's workbench"
