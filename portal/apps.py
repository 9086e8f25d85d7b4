from django.apps import AppConfig


class PortalConfig(AppConfig):
    """The organisation's request pages for signed-in contacts (no models of its own)."""

    name = "portal"
    verbose_name = "Organisations' portal"
