from django.apps import AppConfig
from django.db.models.signals import post_migrate


class AgreementsConfig(AppConfig):
    name = "agreements"
    verbose_name = "Agreements and evidence"

    def ready(self):
        from .criteria import ensure_default_criteria

        post_migrate.connect(
            ensure_default_criteria, sender=self, dispatch_uid="agreements.default_criteria"
        )
