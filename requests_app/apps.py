from django.apps import AppConfig
from django.db.models.signals import post_migrate


class RequestsAppConfig(AppConfig):
    name = "requests_app"
    verbose_name = "Federation requests"

    def ready(self):
        from .groups import ensure_groups

        # After every app's permissions exist: agreements migrates after this app.
        post_migrate.connect(ensure_groups, dispatch_uid="requests_app.ensure_groups")
