"""A member of staff signs in to the admin in the browser, as staff do: password and the code
of their authenticator app."""

from django.contrib.auth import get_user_model
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from tests.helpers import authenticator_code

# The password tests.factories.UserFactory gives every user.
PASSWORD = "correct-horse-battery"


def sign_in(page: Page, live_url: str, username: str) -> None:
    device = TOTPDevice.objects.create(
        user=get_user_model().objects.get(username=username), name="phone", confirmed=True
    )
    page.goto(live_url + "/admin/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Code from your authenticator app").fill(authenticator_code(device))
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()
