"""manage.py totp_enrol: a member of staff's authenticator app, replacing any earlier one."""

import io

import pytest
from django.core.management import CommandError, call_command
from django_otp.plugins.otp_totp.models import TOTPDevice

from accounts.services.staff import authenticator_secret
from requests_app.models import AuditEvent
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_enrolling_prints_the_key_and_replaces_the_old_device():
    user = UserFactory(username="fiona.feedback")
    old = TOTPDevice.objects.create(user=user, name="lost phone", confirmed=True)
    out = io.StringIO()

    call_command("totp_enrol", "fiona.feedback", stdout=out)

    device = TOTPDevice.objects.get(user=user)
    assert device.pk != old.pk and device.confirmed
    text = out.getvalue()
    assert f"key: {authenticator_secret(device)}" in text
    assert "URL: otpauth://totp/" in text
    assert any(block in text for block in "█▀▄")  # the QR code, drawn in the terminal
    assert AuditEvent.objects.filter(action="staff.authenticator_enrolled").count() == 1


def test_enrolling_an_unknown_user_fails_in_words():
    with pytest.raises(CommandError, match="No user is called “nobody”"):
        call_command("totp_enrol", "nobody", "--no-qr")
