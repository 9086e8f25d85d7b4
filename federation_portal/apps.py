from django.apps import AppConfig, apps
from django.contrib.admin.apps import AdminConfig
from django.db.models.signals import post_migrate


class PortalAdminConfig(AdminConfig):
    """Django's admin, on a site that asks staff for their authenticator app's code and opens
    on the Feedback team's overview."""

    default_site = "workbench.site.WorkbenchAdminSite"


class ProjectConfig(AppConfig):
    """The project itself, last of the installed apps: what it does spans them all."""

    name = "federation_portal"
    verbose_name = "Federation portal"

    def ready(self):
        from .groups import ensure_groups

        # Connected after auth's own receiver (this app comes later), so each app's permissions
        # exist when the groups are given them.
        post_migrate.connect(ensure_groups, dispatch_uid="federation_portal.ensure_groups")


def last_app_with_models() -> AppConfig:
    """The app whose post_migrate comes last: every app's permissions exist by then."""
    return [config for config in apps.get_app_configs() if config.models_module][-1]
