from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Federation requests"

    def ready(self):
        from . import system_checks  # noqa: F401 (registers the checks)
