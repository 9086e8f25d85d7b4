from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class PortalAdminConfig(AdminConfig):
    """Django's admin, on a site that asks staff for their authenticator app's code."""

    default_site = "accounts.staff.PortalAdminSite"

    def ready(self):
        super().ready()
        from .groups import ensure_groups

        # Sent after every app migrates: every app's permissions exist by the last one.
        post_migrate.connect(ensure_groups, dispatch_uid="federation_portal.ensure_groups")
