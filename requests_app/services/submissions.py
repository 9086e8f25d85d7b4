"""The public form's submissions, held until the requester confirms their email address.

Anyone can type any address on a public form. So nothing is emailed to the SPOC, the technical
contact or the signatory, and no domain is checked, until the requester has followed a link
emailed to the address they gave: only then does the submission become a request (submitted).
The link works once, for REQUESTER_CONFIRM_HOURS; unconfirmed submissions are then deleted.
Staff's raise-on-behalf path (lifecycle.request_submit with an actor) does not pass through here.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from portal_kit.errors import ActionRefused

from .. import emails
from ..audit import audit
from ..models import FederationRequest, PendingSubmission
from ..outbox import enqueue_after_commit
from .contacts import ContactDetails
from .lifecycle import request_submit

SEND_LINK_TASK = "requests_app.tasks.send_confirmation_link"
# A requester who lost the email may ask again, a few times; each new link replaces the last.
MAX_LINKS_PER_SUBMISSION = 3

LINK_NOT_VALID = (
    "This confirmation link is not valid. Check you copied the whole link from the email."
)
LINK_USED = "This confirmation link has been used already: your request was sent."
LINK_EXPIRED = (
    "This confirmation link has expired: links work for {hours} hours. "
    "Fill in the request form again."
)
LINK_REPLACED = "This confirmation link has been replaced by a newer one. Use the newest email."


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def submission_receive(**answers: Any) -> PendingSubmission:
    """Hold the form's answers (request_submit's keyword arguments) and email the requester a
    link to confirm their address; nothing else happens until they do."""
    stored = {
        key: asdict(value) if isinstance(value, ContactDetails) else value
        for key, value in answers.items()
    }
    now = timezone.now()
    with transaction.atomic():
        submission: PendingSubmission = PendingSubmission.objects.create(
            requester_email=answers["requester_email"].strip(),
            answers=stored,
            created_at=now,
            expires_at=now + timedelta(hours=settings.REQUESTER_CONFIRM_HOURS),
        )
        audit(
            None,
            None,
            "request.confirmation_asked",
            message=(
                f"A request for {', '.join(answers['domains'])} was submitted on the public "
                f"form; a link to confirm {submission.requester_email} was queued."
            ),
            actor_label=submission.requester_email,
        )
        enqueue_after_commit(SEND_LINK_TASK, submission_id=submission.pk, link_number=1)
    return submission


def submission_resend(*, submission_id: int) -> None:
    """Email a fresh link (the old one stops working); refused past the limit or once used."""
    with transaction.atomic():
        submission = PendingSubmission.objects.select_for_update().get(pk=submission_id)
        if submission.confirmed_at is not None:
            raise ActionRefused(LINK_USED)
        if submission.expires_at <= timezone.now():
            raise ActionRefused(LINK_EXPIRED.format(hours=settings.REQUESTER_CONFIRM_HOURS))
        if submission.links_asked >= MAX_LINKS_PER_SUBMISSION:
            raise ActionRefused(
                f"We have sent {MAX_LINKS_PER_SUBMISSION} links already. Check your spam folder, "
                "or fill in the request form again with the right email address."
            )
        submission.links_asked += 1
        submission.save(update_fields=["links_asked"])
        enqueue_after_commit(
            SEND_LINK_TASK, submission_id=submission.pk, link_number=submission.links_asked
        )


def _link_secret(submission: PendingSubmission, link_number: int) -> str:
    """Link link_number's secret: derived, never stored (only its hash is), so a retried job
    emails the very link it may have sent already, and the email's once-key keeps it to one."""
    return salted_hmac(
        "requests_app.submission_link", f"{submission.link_key}:{link_number}"
    ).hexdigest()


def submission_send_link(*, submission_id: int, link_number: int) -> bool:
    """In the worker: make link number link_number and email it, once; False when a newer link
    was asked for, the submission is confirmed or gone, or this link went already."""
    with transaction.atomic():
        submission = PendingSubmission.objects.select_for_update().filter(pk=submission_id).first()
        if (
            submission is None
            or submission.confirmed_at is not None
            or link_number < submission.links_asked
        ):
            return False
        if submission.links_sent < link_number:
            submission.token_hash = _hash(_link_secret(submission, link_number))
            submission.links_sent = link_number
            submission.save(update_fields=["token_hash", "links_sent"])
    # Committed before sending: send_once claims, sends and marks in transactions of its own.
    return emails.send_confirmation_link(submission, secret=_link_secret(submission, link_number))


def link_problem(submission: PendingSubmission | None) -> str:
    """Why a confirmation link cannot be used now ("" when it can)."""
    if submission is None:
        return LINK_NOT_VALID
    if submission.confirmed_at is not None:
        return LINK_USED
    if submission.expires_at <= timezone.now():
        return LINK_EXPIRED.format(hours=settings.REQUESTER_CONFIRM_HOURS)
    return ""


def find_submission(secret: str) -> PendingSubmission | None:
    return PendingSubmission.objects.filter(token_hash=_hash(secret)).first()


def submission_confirm(*, secret: str) -> FederationRequest:
    """Use a confirmation link, once: the submission becomes a request, and only now are the
    SPOC and contacts emailed and the domains checked. Raises ActionRefused with a sentence
    (also when a domain was taken by another request since the form was sent)."""
    with transaction.atomic():
        # The row lock makes "not used yet" and "now used" one step against a double click.
        submission = (
            PendingSubmission.objects.select_for_update().filter(token_hash=_hash(secret)).first()
        )
        problem = link_problem(submission)
        if problem:
            raise ActionRefused(problem)
        assert submission is not None  # link_problem refuses a missing submission
        answers = dict(submission.answers)
        for role in ("spoc", "technical_contact", "signatory"):
            if answers.get(role) is not None:
                answers[role] = ContactDetails(**answers[role])
        req = request_submit(**answers, confirmed_email=True)
        submission.confirmed_at = timezone.now()
        submission.request = req
        submission.answers = {}  # the request holds them now
        submission.save(update_fields=["confirmed_at", "request", "answers"])
    return req


def submissions_expire() -> int:
    """Beat: delete submissions past their link's expiry; returns how many were never confirmed.

    An unconfirmed one holds personal data typed by someone who may not be who they said;
    a confirmed one's answers already live in its request."""
    with transaction.atomic():
        expired = PendingSubmission.objects.filter(expires_at__lte=timezone.now())
        unconfirmed = expired.filter(confirmed_at__isnull=True).count()
        expired.delete()
        if unconfirmed:
            audit(
                None,
                None,
                "request.confirmation_expired",
                message=f"{unconfirmed} submission(s) never confirmed by the requester, "
                "deleted when their link expired.",
            )
    return unconfirmed
