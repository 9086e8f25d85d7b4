from django.apps import AppConfig


class ApiConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "api"
    verbose_name = "API clients"

    def ready(self) -> None:
        from . import schema  # noqa: F401 (registers the key scheme with drf-spectacular)
