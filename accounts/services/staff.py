"""Staff sign-in's writes: each sign-in, failure and sign-out in the audit log, and the
authenticator app (TOTP device) each member of staff signs in with."""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING

from django.db import transaction
from django_otp.plugins.otp_totp.models import TOTPDevice

from requests_app.audit import audit

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def staff_signed_in(*, user: User) -> None:
    audit(None, user, "staff.signed_in", message="Password and authenticator code.")


def staff_sign_in_failed(*, username: str, reason: str) -> None:
    """A failed sign-in, under the username that was tried (no account may have it)."""
    audit(
        None,
        None,
        "staff.sign_in_failed",
        actor_label=f"sign-in as “{username}”",
        message=reason[:500],
    )


def staff_signed_out(*, user: User) -> None:
    audit(None, user, "staff.signed_out")


def authenticator_enrol(*, user: User, actor: User | None = None) -> TOTPDevice:
    """Give user a new authenticator (TOTP) device, replacing any they had."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        audit(
            None,
            actor,
            "staff.authenticator_enrolled",
            message=f"A new authenticator app for {user.get_username()}; any earlier one "
            "stopped working.",
        )
    return device


def authenticator_secret(device: TOTPDevice) -> str:
    """The key to type into an authenticator app by hand (base32, as apps expect)."""
    return base64.b32encode(device.bin_key).decode().rstrip("=")
