"""Signing organisations' contacts in by emailed link: ask, send (in the worker), redeem.

The web request that asks does the same work for every address (it queues a job); the worker
decides whether the address is a current contact and only then makes and emails a link. So the
answer, and its timing, says nothing about who is a contact.
"""

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.outbox import enqueue_after_commit

from .. import emails
from ..models import SignInLink
from ..selectors import is_current_contact

SEND_LINK_TASK = "accounts.tasks.send_sign_in_link"

LINK_NOT_VALID = (
    "This sign-in link is not valid. Check you copied the whole link, or ask for a new one."
)
LINK_USED = "This sign-in link has been used already. Ask for a new one to sign in again."
LINK_EXPIRED = "This sign-in link has expired: links work for {minutes} minutes. Ask for a new one."
OTHER_BROWSER = (
    "This sign-in link was asked for in another browser. Open it in the browser you asked from, "
    "or ask for a new link in this one."
)
NOT_A_CONTACT = (
    "This address is no longer a contact of any organisation's federation request, so it "
    "cannot sign in. Your organisation's SPOC can add you as a contact."
)


def secret_hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def sign_in_link_ask(*, email: str, browser_nonce: str) -> None:
    """Queue a sign-in link for email, whoever it is (the worker checks)."""
    with transaction.atomic():
        enqueue_after_commit(
            SEND_LINK_TASK, email=email.strip().lower(), browser_hash=secret_hash(browser_nonce)
        )


def sign_in_link_send(*, email: str, browser_hash: str) -> bool:
    """In the worker: make and email a link when email is a current contact; False otherwise."""
    if not is_current_contact(email):
        audit(
            None,
            None,
            "contact.sign_in_refused",
            message=f"A sign-in link was asked for {email}, which is not a current contact; "
            "none was sent.",
        )
        return False
    secret = secrets.token_urlsafe(32)
    minutes = settings.SIGN_IN_LINK_MINUTES
    # The link is committed before it is emailed (send_once claims, sends and marks in its own
    # transactions). If the mail server refuses, the retry makes a fresh link; the unsent one is
    # never used (only its hash is stored) and expires.
    link = SignInLink.objects.create(
        email=email,
        token_hash=secret_hash(secret),
        browser_hash=browser_hash,
        expires_at=timezone.now() + timedelta(minutes=minutes),
    )
    emails.send_sign_in_link(link, secret=secret, minutes=minutes)
    audit(None, None, "contact.sign_in_link_sent", message=f"To {email}.")
    return True


def link_problem(link: SignInLink | None) -> str:
    """Why a link cannot sign anyone in now ("" when it can)."""
    if link is None:
        return LINK_NOT_VALID
    if link.used_at is not None:
        return LINK_USED
    if link.expires_at <= timezone.now():
        return LINK_EXPIRED.format(minutes=settings.SIGN_IN_LINK_MINUTES)
    return ""


def find_link(secret: str) -> SignInLink | None:
    return SignInLink.objects.filter(token_hash=secret_hash(secret)).first()


def sign_in_link_redeem(*, secret: str, browser_nonce: str) -> str:
    """Use a link, once; returns the address it signs in. Raises ActionRefused with a sentence.

    A refusal is audited: a link used from another browser may have been forwarded or stolen.
    """
    try:
        return _redeem(secret, browser_nonce)
    except ActionRefused as refusal:
        link = find_link(secret)
        audit(
            None,
            None,
            "contact.sign_in_link_refused",
            message=f"{link.email if link else 'An unknown link'}: {refusal}",
        )
        raise


def _redeem(secret: str, browser_nonce: str) -> str:
    with transaction.atomic():
        # The row lock makes "not used yet" and "now used" one step: of two redemptions at
        # once, the second waits, then sees the link used.
        link = SignInLink.objects.select_for_update().filter(token_hash=secret_hash(secret)).first()
        problem = link_problem(link)
        if problem:
            raise ActionRefused(problem)
        assert link is not None  # link_problem refuses a missing link
        if not hmac.compare_digest(link.browser_hash, secret_hash(browser_nonce or "")):
            raise ActionRefused(OTHER_BROWSER)
        if not is_current_contact(link.email):
            raise ActionRefused(NOT_A_CONTACT)
        link.used_at = timezone.now()
        link.save(update_fields=["used_at"])
        audit(None, None, "contact.signed_in", actor_label=link.email)
    return link.email


def contact_sign_out(*, email: str) -> None:
    audit(None, None, "contact.signed_out", actor_label=email)
