from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Organisations' contacts: sign-in"

    def ready(self):
        from . import staff  # noqa: F401 (connects the staff sign-in audit receivers)
