"""Register an API client from the command line, as a named member of staff, and print its
first key once (the admin's "Add API client" page does the same through the same service)."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from api.services import DEFAULT_KEY_DAYS, api_client_create
from portal_kit.errors import ActionRefused


class Command(BaseCommand):
    help = "Register an API client with scopes and print its first key (shown once)."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="The calling system's name.")
        parser.add_argument(
            "--scopes", required=True, help="Comma-separated, like requests:read,requests:write."
        )
        parser.add_argument(
            "--actor",
            required=True,
            help="The username of the member of staff registering it (an API administrator); "
            "the audit log names them.",
        )
        parser.add_argument("--days", type=int, default=DEFAULT_KEY_DAYS, help="Key lifetime.")
        parser.add_argument("--description", default="")

    def handle(self, *args, name, scopes, actor, days, description, **options):
        user = get_user_model().objects.filter(username=actor, is_active=True).first()
        if user is None:
            raise CommandError(f"There is no active user {actor}.")
        wanted = [scope.strip() for scope in scopes.split(",") if scope.strip()]
        try:
            client, key = api_client_create(
                name=name, scopes=wanted, actor=user, description=description, key_days=days
            )
        except ActionRefused as refusal:
            raise CommandError(str(refusal)) from None
        self.stdout.write(
            f"API client {client.name} registered with scopes {', '.join(client.scopes)}.\n"
            "Its key, shown this once (keep it in a secret store):\n"
        )
        self.stdout.write(key.plaintext)
