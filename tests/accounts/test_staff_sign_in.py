"""Staff sign in to the admin with a password and an authenticator app's code (TOTP)."""

from datetime import timedelta

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from requests_app.models import AuditEvent
from tests.factories import UserFactory
from tests.helpers import authenticator_code

pytestmark = pytest.mark.django_db

PASSWORD = "correct-horse-battery"
LOGIN = "/admin/login/?next=/admin/"
INDEX = "/admin/"


@pytest.fixture
def staff():
    user = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def device(staff):
    return TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)


def sign_in(client, username="fiona.feedback", password=PASSWORD, token=""):
    return client.post(LOGIN, {"username": username, "password": password, "otp_token": token})


def signed_in(client) -> bool:
    return client.get(INDEX).status_code == 200


def test_the_password_and_the_code_sign_in_and_it_is_audited(client, staff, device):
    response = sign_in(client, token=authenticator_code(device))

    assert response.status_code == 302 and response["Location"] == INDEX
    assert signed_in(client)
    assert AuditEvent.objects.get(action="staff.signed_in").actor == staff


def test_the_password_alone_is_not_enough(client, staff, device):
    response = sign_in(client)

    assert response.status_code == 200
    assert not signed_in(client)
    assert AuditEvent.objects.filter(action="staff.sign_in_failed").count() == 1


def test_a_wrong_code_is_refused_and_logged(client, staff, device):
    wrong = f"{(int(authenticator_code(device)) + 1) % 10**6:06d}"

    response = sign_in(client, token=wrong)

    assert response.status_code == 200
    assert not signed_in(client)
    event = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert event.actor_label == "sign-in as “fiona.feedback”"
    assert event.ip_address == "127.0.0.1"


def test_a_wrong_password_with_a_good_code_is_refused(client, staff, device):
    assert sign_in(client, password="not-it", token=authenticator_code(device)).status_code == 200
    assert not signed_in(client)


FAILED = "Enter a correct username, password and code from your authenticator app."


def test_an_account_without_an_authenticator_is_told_what_to_do(client, staff):
    response = sign_in(client, token="123456")
    assert "ask an administrator to set one up" in response.content.decode()
    assert not signed_in(client)
    event = AuditEvent.objects.get(action="staff.sign_in_failed")
    assert event.message == "the account has no authenticator app"


@pytest.mark.parametrize("password_right", [True, False])
def test_a_failure_does_not_say_which_part_was_wrong(client, staff, device, password_right):
    password = PASSWORD if password_right else "wrong"
    response = sign_in(client, password=password, token="000000")
    assert FAILED in response.content.decode()


def test_a_session_signed_in_without_the_second_factor_cannot_use_the_admin(staff):
    plain = Client()
    plain.force_login(staff)  # a password-only session, as a bypass of the form would give
    assert plain.get(INDEX)["Location"].startswith("/admin/login/")


def test_failures_for_one_username_pause_its_sign_in(client, settings, staff, device):
    settings.STAFF_SIGN_IN_FAILURES_PER_USER = 3
    for attempt in range(3):
        sign_in(Client(REMOTE_ADDR=f"192.0.2.{attempt}"), password="guess")

    response = sign_in(client, token=authenticator_code(device))  # right this time, but paused

    assert "Too many failed sign-ins. Wait 15 minutes" in response.content.decode()
    assert not signed_in(client)


def test_failures_from_one_address_pause_sign_in_from_it(settings, staff, device):
    settings.STAFF_SIGN_IN_FAILURES_PER_IP = 3
    browser = Client(REMOTE_ADDR="198.51.100.9")
    for number in range(3):
        sign_in(browser, username=f"guess{number}", password="guess")

    response = sign_in(browser, token=authenticator_code(device))

    assert "Too many failed sign-ins" in response.content.decode()
    elsewhere = sign_in(Client(REMOTE_ADDR="198.51.100.10"), token=authenticator_code(device))
    assert elsewhere["Location"] == INDEX  # another address is not paused


def test_a_session_ends_after_thirty_idle_minutes_but_not_while_in_use(client, staff, device):
    sign_in(client, token=authenticator_code(device))
    start = timezone.now()

    with time_machine.travel(start + timedelta(minutes=25)):
        assert signed_in(client)  # activity moves the expiry on
    with time_machine.travel(start + timedelta(minutes=50)):
        assert signed_in(client)
    with time_machine.travel(start + timedelta(minutes=81)):
        assert not signed_in(client)


def test_signing_out_ends_the_session_on_the_server(client, staff, device):
    sign_in(client, token=authenticator_code(device))
    cookie = client.cookies["sessionid"].value

    client.post(reverse("admin:logout"))

    replay = Client()
    replay.cookies["sessionid"] = cookie
    assert not signed_in(replay)
    assert AuditEvent.objects.filter(action="staff.signed_out", actor=staff).exists()


def test_a_disabled_account_is_signed_out_at_once(client, staff, device):
    sign_in(client, token=authenticator_code(device))
    assert signed_in(client)

    staff.is_active = False
    staff.save()

    assert not signed_in(client)
