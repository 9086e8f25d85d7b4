"""Signing a contact in the way a person does: ask, read the email, open the link, press."""

import re

from django.core import mail
from django.urls import reverse

from accounts.services import sign_in as sign_in_service
from accounts.views import BROWSER_COOKIE


def ask_for_link(client, email: str):
    """Post the sign-in form; the response (a redirect to "check your email")."""
    return client.post(reverse("accounts:sign_in"), {"email": email})


def emailed_link(client, email: str) -> str:
    """Ask for a link in client's browser, let the worker's service send it, return its path."""
    ask_for_link(client, email)
    browser = client.cookies[BROWSER_COOKIE].value
    mail.outbox.clear()
    assert sign_in_service.sign_in_link_send(
        email=email.lower(), browser_hash=sign_in_service.secret_hash(browser)
    )
    (message,) = mail.outbox
    match = re.search(r"https?://\S+(/account/sign-in/link/[\w-]+/)", message.body)
    assert match, "the email has no sign-in link"
    return match.group(1)


def sign_in(client, email: str):
    """Sign client in as email through the emailed link; the final response."""
    path = emailed_link(client, email)
    return client.post(path, follow=True)
