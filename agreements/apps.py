from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = "Agreements and evidence"

    def ready(self):
        from requests_app.signals import signatory_named
        from requests_app.status_page import register_status_context

        from . import guards
        from .criteria import ensure_default_criteria
        from .services.notices import on_signatory_named
        from .status import status_context

        guards.register()
        signatory_named.connect(on_signatory_named, dispatch_uid="agreements.invite_signatory")
        register_status_context(status_context)
        post_migrate.connect(
            ensure_default_criteria, sender=self, dispatch_uid="agreements.default_criteria"
        )
