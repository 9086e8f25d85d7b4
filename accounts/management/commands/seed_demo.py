"""Demo data for the local run: staff logins (printed) and a few requests to work on."""

import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand

from accounts.services.staff import authenticator_enrol, authenticator_secret
from requests_app.models import FederationRequest
from requests_app.services import lifecycle
from requests_app.services.contacts import ContactDetails

DEMO_REQUESTS = [
    ("Northshire Community Care CIC", "", ["northshire-care.example.org.uk"]),
    ("Riverside Hospice", "RH123", ["riverside-hospice.example.org.uk", "rh-staff.example.com"]),
]


# Two in the Feedback team: whoever verified a request's evidence may not federate it (four eyes).
STAFF = [
    ("feedback", ["Feedback team"]),
    ("feedback2", ["Feedback team"]),
    ("servicedesk", ["Service desk"]),
    # A client's scopes are limited to what whoever registers it may do: raise on behalf here.
    ("apiadmin", ["API administrators", "Service desk"]),
]


class Command(BaseCommand):
    help = "Create demo staff users (new passwords each run, printed) and demo requests."

    def handle(self, *args, **options):
        logins = []
        for username, groups in STAFF:
            user, _ = get_user_model().objects.get_or_create(
                username=username, defaults={"email": f"{username}@nhs.net"}
            )
            password = secrets.token_urlsafe(12)
            user.is_staff = True
            user.set_password(password)
            user.save()
            user.groups.add(*Group.objects.filter(name__in=groups))
            key = authenticator_secret(authenticator_enrol(user=user))
            logins.append((" and ".join(groups), username, password, key))

        if not FederationRequest.objects.exists():
            for name, ods_code, domains in DEMO_REQUESTS:
                contact = ContactDetails(
                    name="Alex Example", job_title="Head of IT", email=f"it@{domains[0]}"
                )
                lifecycle.request_submit(
                    organisation_name=name,
                    ods_code=ods_code,
                    has_nhsmail_presence=bool(ods_code),
                    domains=domains,
                    justification="Teams federation",
                    requester_name="Alex Example",
                    requester_email=f"alex@{domains[0]}",
                    spoc=contact,
                    technical_contact=contact,
                )

        self.stdout.write(
            f"\nStaff sign-in at {settings.SITE_URL}/admin/ needs a password and the code of an\n"
            "authenticator app holding the account's key (new each run; manage.py totp_enrol\n"
            "USERNAME prints it as a QR code). Two are in the Feedback team: whoever verifies a\n"
            "request's evidence may not also federate it (four eyes)."
        )
        for group, username, password, key in logins:
            self.stdout.write(f"  {group}: username {username}  password {password}  key {key}")
        self.stdout.write("")
