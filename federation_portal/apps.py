from django.contrib.admin.apps import AdminConfig


class PortalAdminConfig(AdminConfig):
    """Django's admin, on a site that asks staff for their authenticator app's code."""

    default_site = "accounts.staff.PortalAdminSite"
