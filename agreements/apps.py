from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = "Agreements and evidence"

    def ready(self):
        from requests_app.status_page import register_status_context

        from . import guards
        from .criteria import ensure_default_criteria
        from .selectors import sent_agreement

        guards.register()
        register_status_context(lambda req: {"agreement": sent_agreement(req)})
        post_migrate.connect(
            ensure_default_criteria, sender=self, dispatch_uid="agreements.default_criteria"
        )
