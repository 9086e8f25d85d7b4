from django.apps import AppConfig


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Federation requests"

    def ready(self):
        from . import system_checks  # noqa: F401 (registers the checks)
        from .services.locking import register_guard
        from .services.suspension import revoke_four_eyes

        register_guard("revoke", revoke_four_eyes, about_actor=True)
