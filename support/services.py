"""Support and information requests: raised by a contact named in a signed agreement, worked by
the Feedback team, with replies that reach the contact by email and on the portal."""

from datetime import date

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from requests_app.audit import audit
from requests_app.errors import ActionRefused
from requests_app.models import ContactRole, FederationRequest, State
from requests_app.outbox import enqueue_after_commit
from requests_app.permissions import ensure_may

from .models import Category, SupportReply, SupportRequest, SupportStatus

EMAIL_TASK = "support.tasks.send_support_email"
# The agreement is signed from "signed" on: only then are its contacts the ones NHSmail answers.
SIGNED_STATES = (State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED)
CONTACT_ROLES = (ContactRole.SPOC, ContactRole.TECHNICAL, ContactRole.SIGNATORY)


def who_may_raise() -> str:
    return (
        "Only the contacts named in a signed Federation Partnering Agreement (its SPOC, technical "
        "contacts and signatory) can raise a support request. If you should be one, ask your "
        "organisation's SPOC to add you. For anything else, email the NHSmail Feedback team at "
        f"{settings.FEEDBACK_TEAM_EMAIL}."
    )


def requests_open_to_support(email: str) -> QuerySet[FederationRequest]:
    """The requests with a signed agreement that name email as a current contact."""
    return (
        FederationRequest.objects.filter(
            state__in=SIGNED_STATES,
            contacts__email__iexact=email,
            contacts__removed_at__isnull=True,
            contacts__role__in=CONTACT_ROLES,
        )
        .select_related("organisation")
        .distinct()
        .order_by("-created_at")
    )


def _named_contact(req: FederationRequest, email: str):
    return req.contacts.filter(
        email__iexact=email, removed_at__isnull=True, role__in=CONTACT_ROLES
    ).first()


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
        req = FederationRequest.objects.select_for_update().filter(pk=request_id).first()
        contact = _named_contact(req, actor_email) if req else None
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
        if _named_contact(support.request, actor_email) is None:
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


def support_update(*, support_id: int, actor, status: str, reply: str = "") -> SupportRequest:
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


def support_recipient(support: SupportRequest) -> str:
    """Who hears from the team: whoever raised it while still a named contact, else the SPOC."""
    if _named_contact(support.request, support.raised_by_email) is not None:
        return support.raised_by_email
    spoc = support.request.contacts.filter(role=ContactRole.SPOC, removed_at__isnull=True).first()
    return spoc.email if spoc else ""
