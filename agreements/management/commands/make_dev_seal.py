"""For the local run only: a throwaway CA and seal certificate, so signing in the portal works
on a laptop. Production uses a certificate from a real authority (SEAL_KEY_FILE, ...)."""

from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from agreements.dev_seal import make_seal_ca


class Command(BaseCommand):
    help = "Write a development seal certificate to var/dev-seal/ unless one is there."

    def handle(self, *args, **options):
        directory = Path(settings.BASE_DIR) / "var" / "dev-seal"
        if (directory / "seal.key").exists():
            return
        make_seal_ca(directory, label="Development")
        self.stdout.write(f"Development seal certificate written to {directory}")
