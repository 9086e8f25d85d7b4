"""Set up a member of staff's authenticator app: the admin asks for its code at every sign-in."""

import io

import qrcode
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from accounts.services.staff import authenticator_enrol, authenticator_secret


class Command(BaseCommand):
    help = "Give a staff user a new authenticator app (TOTP), replacing any earlier one."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--no-qr", action="store_true", help="do not print the QR code")

    def handle(self, *args, username, no_qr, **options):
        try:
            user = get_user_model().objects.get(username=username)
        except get_user_model().DoesNotExist:
            raise CommandError(f"No user is called “{username}”.") from None
        device = authenticator_enrol(user=user)
        self.stdout.write(f"Authenticator app for {username}: scan the QR code, or enter the key.")
        if not no_qr:
            code = qrcode.QRCode(border=2)
            code.add_data(device.config_url)
            picture = io.StringIO()
            code.print_ascii(out=picture, invert=True)
            self.stdout.write(picture.getvalue())
        self.stdout.write(f"  key: {authenticator_secret(device)}")
        self.stdout.write(f"  URL: {device.config_url}")
