"""Support and information requests: raised by a contact named in a signed agreement, worked by
the Feedback team, with replies that reach the contact by email and on the portal."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.outbox import enqueue_after_commit
from requests_app.services.locking import lock_request

from ..models import Category, SupportReply, SupportRequest, SupportStatus
from ..selectors import SIGNED_STATES, named_contact

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EMAIL_TASK = "support.tasks.send_support_email"


def who_may_raise() -> str:
    return (
        "Only the contacts named in a signed Federation Partnering Agreement (its SPOC, technical "
        "contacts and signatory) can raise a support request. If you should be one, ask your "
        "organisation's SPOC to add you. For anything else, email the NHSmail Feedback team at "
        f"{settings.FEEDBACK_TEAM_EMAIL}."
    )


def support_raise(
    *,
    request_id: int,
    actor_email: str,
    category: str,
    description: str,
    affected_users: str,
    started_on: date,
    own_it_tried: bool,
) -> SupportRequest:
    """A named contact raises a support request, once their own IT team has tried."""
    if not own_it_tried:
        raise ActionRefused("Confirm that your own IT team has tried to fix this first.")
    with transaction.atomic():
        try:
            req = lock_request(request_id)
        except ActionRefused:  # the same answer for every outsider
            raise ActionRefused(who_may_raise()) from None
        contact = named_contact(req, actor_email)
        if contact is None or req.state not in SIGNED_STATES:
            raise ActionRefused(who_may_raise())
        support = SupportRequest.objects.create(
            request=req,
            raised_by_email=actor_email,
            raised_by_name=contact.name,
            category=category,
            description=description,
            affected_users=affected_users,
            started_on=started_on,
        )
        support.reference = f"SR-{support.pk:06d}"
        support.save(update_fields=["reference"])
        audit(
            req,
            None,
            "support.raised",
            message=f"{support.reference}: {Category(category).label}",
            actor_label=actor_email,
        )
        enqueue_after_commit(EMAIL_TASK, support_id=support.pk, kind="raised", key="raised")
    return support


def support_contact_reply(*, support_id: int, actor_email: str, body: str) -> SupportReply:
    """A named contact adds to their organisation's support request; it goes back to the team."""
    if not body.strip():
        raise ActionRefused("Write your reply.")
    with transaction.atomic():
        support = (
            SupportRequest.objects.select_for_update().select_related("request").get(pk=support_id)
        )
        if named_contact(support.request, actor_email) is None:
            raise ActionRefused(who_may_raise())
        if support.status == SupportStatus.RESOLVED:
            raise ActionRefused(
                f"{support.reference} is resolved. Raise a new support request if you need help."
            )
        reply = SupportReply.objects.create(
            support_request=support, author_email=actor_email, body=body
        )
        if support.status == SupportStatus.WAITING:
            support.status = SupportStatus.OPEN  # the team's turn again
        support.updated_at = timezone.now()
        support.save(update_fields=["status", "updated_at"])
        # support_raise names every support request in the transaction that creates it.
        assert support.reference is not None
        audit(
            support.request,
            None,
            "support.contact_replied",
            message=support.reference,
            actor_label=actor_email,
        )
        enqueue_after_commit(
            EMAIL_TASK,
            support_id=support.pk,
            kind="contact_replied",
            key=f"reply:{reply.pk}",
            reply_id=reply.pk,
        )
    return reply


def support_update(*, support_id: int, actor: User, status: str, reply: str = "") -> SupportRequest:
    """The Feedback team moves a support request on and replies; the contact is emailed."""
    ensure_may(actor, "work_support")
    if status not in SupportStatus.values:
        raise ActionRefused("Choose a status.")
    with transaction.atomic():
        support = (
            SupportRequest.objects.select_for_update().select_related("request").get(pk=support_id)
        )
        before = support.status
        if before == status and not reply.strip():
            return support
        support.status = status
        support.updated_at = timezone.now()
        support.save(update_fields=["status", "updated_at"])
        key, reply_id = f"status:{status}:{support.updated_at.isoformat()}", None
        if reply.strip():
            message = SupportReply.objects.create(support_request=support, author=actor, body=reply)
            key, reply_id = f"reply:{message.pk}", message.pk
        audit(
            support.request,
            actor,
            "support.updated",
            message=f"{support.reference}: {before} -> {status}"
            + (" with a reply" if reply.strip() else ""),
        )
        enqueue_after_commit(
            EMAIL_TASK, support_id=support.pk, kind="updated", key=key, reply_id=reply_id
        )
    return support
