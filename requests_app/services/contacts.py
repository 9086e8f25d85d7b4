"""Services for a request's contacts, kept current by its SPOC: technical contacts, and the
change of SPOC that the Feedback team confirms.

Contacts act through the portal's sign-in (accounts); here they are named by their email
address, checked against the contact list inside the transaction that makes the change.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from .. import selectors
from ..audit import audit
from ..models import (
    OPEN_STATES,
    Contact,
    ContactRole,
    FederationRequest,
    SpocChange,
    SpocChangeState,
    State,
)
from ..outbox import enqueue_after_commit
from ..signals import signatory_named
from .locking import lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

SPOC_CHANGE_EMAIL_TASK = "requests_app.tasks.send_spoc_change_email"
ONLY_THE_SPOC = "Only the request's SPOC can change its contacts."
# Contacts may be kept current while the request is open, and once federated (the agreement
# stands); a rejected or withdrawn request's contacts are history.
CONTACT_STATES = {*OPEN_STATES, State.FEDERATED}


@dataclass(frozen=True)
class ContactDetails:
    name: str
    job_title: str
    email: str
    phone: str = ""


def lock_request_for_contact(
    request_id: int, *, actor_email: str
) -> tuple[FederationRequest, set[str]]:
    """The request, row-locked, with actor_email's current roles on it; to anyone who is not
    one of its contacts it does not exist (never say whose it is)."""
    req = lock_request(request_id)
    roles = selectors.contact_roles(req, actor_email)
    if not roles:
        raise ActionRefused("That request does not exist.")
    return req, roles


def _lock_for_contacts(request_id: int, *, actor_email: str, roles: set[str]) -> FederationRequest:
    """The request, row-locked, once the actor holds one of roles on it and it takes changes."""
    req, held = lock_request_for_contact(request_id, actor_email=actor_email)
    if not held & roles:
        raise ActionRefused(
            ONLY_THE_SPOC
            if roles == {ContactRole.SPOC}
            else "Only the request's SPOC or signatory can propose a new SPOC."
        )
    if req.state not in CONTACT_STATES:
        raise ActionRefused(
            f"Request {req.reference} is {req.get_state_display().lower()}, so its contacts "
            "can no longer be changed."
        )
    return req


def _technical_contact(req: FederationRequest, contact_id: int) -> Contact:
    contact = selectors.technical_contact(req, contact_id)
    if contact is None:
        raise ActionRefused("That contact is not one of this request's technical contacts.")
    return contact


def _contact_create(
    req: FederationRequest, *, role: str, details: ContactDetails, at: datetime | None = None
) -> Contact:
    contact: Contact = Contact.objects.create(
        request=req,
        role=role,
        name=details.name,
        job_title=details.job_title,
        email=details.email.strip().lower(),
        phone=details.phone,
        added_at=at or timezone.now(),
    )
    return contact


def contact_replace(
    req: FederationRequest, *, role: str, details: ContactDetails, at: datetime | None = None
) -> tuple[Contact, list[Contact]]:
    """Retire whoever holds role on req and name details in it (one SPOC, one signatory): the
    new contact and those retired. Call under the request's lock; callers audit."""
    at = at or timezone.now()
    retired = list(req.contacts.filter(role=role, removed_at__isnull=True))
    req.contacts.filter(pk__in=[contact.pk for contact in retired]).update(removed_at=at)
    contact = _contact_create(req, role=role, details=details, at=at)
    return contact, retired


def _describe(contact: Contact | SpocChange) -> str:
    phone = f", {contact.phone}" if contact.phone else ""
    return f"{contact.name} ({contact.job_title}) <{contact.email}>{phone}"


def contact_add(
    *, request_id: int, actor_email: str, details: ContactDetails, role: str = ContactRole.TECHNICAL
) -> Contact:
    """The SPOC adds a technical contact, or names the signatory (replacing any earlier one:
    the agreement has one Director-level signatory)."""
    if role not in (ContactRole.TECHNICAL, ContactRole.SIGNATORY):
        raise ActionRefused("Choose whether they are a technical contact or the signatory.")
    with transaction.atomic():
        req = _lock_for_contacts(request_id, actor_email=actor_email, roles={ContactRole.SPOC})
        current = req.contacts.filter(role=role, removed_at__isnull=True)
        if current.filter(email__iexact=details.email).exists():
            label = ContactRole(role).label.lower()
            raise ActionRefused(f"{details.email} is already the request's {label}.")
        if role == ContactRole.SIGNATORY:  # one signatory: the new one replaces the old
            contact, retired = contact_replace(req, role=role, details=details)
            signatory_named.send(sender=FederationRequest, req=req, contact=contact)
        else:
            contact, retired = _contact_create(req, role=role, details=details), []
        for earlier in retired:
            audit(req, None, "contact.removed", message=_describe(earlier), actor_label=actor_email)
        audit(
            req,
            None,
            "contact.added",
            message=f"{contact.get_role_display()}: {_describe(contact)}",
            actor_label=actor_email,
        )
    return contact


def contact_change(
    *, request_id: int, contact_id: int, actor_email: str, details: ContactDetails
) -> Contact:
    """The SPOC corrects a technical contact's name, job title, email or phone."""
    with transaction.atomic():
        req = _lock_for_contacts(request_id, actor_email=actor_email, roles={ContactRole.SPOC})
        contact = _technical_contact(req, contact_id)
        before = _describe(contact)
        contact.name, contact.job_title = details.name, details.job_title
        contact.email, contact.phone = details.email.lower(), details.phone
        contact.save(update_fields=["name", "job_title", "email", "phone"])
        audit(
            req,
            None,
            "contact.changed",
            message=f"{before} -> {_describe(contact)}",
            actor_label=actor_email,
        )
    return contact


def contact_remove(*, request_id: int, contact_id: int, actor_email: str) -> Contact:
    """The SPOC removes a technical contact; they lose access on their next click."""
    with transaction.atomic():
        req = _lock_for_contacts(request_id, actor_email=actor_email, roles={ContactRole.SPOC})
        contact = _technical_contact(req, contact_id)
        contact.removed_at = timezone.now()
        contact.save(update_fields=["removed_at"])
        audit(req, None, "contact.removed", message=_describe(contact), actor_label=actor_email)
    return contact


def spoc_change_propose(
    *, request_id: int, actor_email: str, details: ContactDetails
) -> SpocChange:
    """The SPOC or the signatory proposes a new SPOC; everyone concerned is emailed."""
    with transaction.atomic():
        req = _lock_for_contacts(
            request_id, actor_email=actor_email, roles={ContactRole.SPOC, ContactRole.SIGNATORY}
        )
        current = req.contacts.filter(role=ContactRole.SPOC, removed_at__isnull=True).first()
        if current and current.email.lower() == details.email.lower():
            raise ActionRefused(f"{details.email} is the SPOC already.")
        try:
            with transaction.atomic():
                change = SpocChange.objects.create(
                    request=req,
                    proposed_by=actor_email,
                    previous_spoc_email=current.email if current else "",
                    name=details.name,
                    job_title=details.job_title,
                    email=details.email.lower(),
                    phone=details.phone,
                )
        except IntegrityError:
            raise ActionRefused(
                "A change of SPOC is already waiting for the Feedback team. It must be decided "
                "before another is proposed."
            ) from None
        audit(
            req,
            None,
            "contact.spoc_change_proposed",
            message=f"New SPOC proposed: {_describe(change)}.",
            actor_label=actor_email,
        )
        enqueue_after_commit(SPOC_CHANGE_EMAIL_TASK, change_id=change.pk, kind="proposed")
    return change


def _lock_change(change_id: int, *, actor: User) -> SpocChange:
    ensure_may(actor, "confirm_spoc_change")
    change = SpocChange.objects.select_related("request").filter(pk=change_id).first()
    if change is None:
        raise ActionRefused("That change of SPOC does not exist.")
    lock_request(change.request_id)
    change = SpocChange.objects.select_for_update().get(pk=change_id)
    if change.state != SpocChangeState.PROPOSED:
        raise ActionRefused(
            f"This change of SPOC was {change.get_state_display().lower()} already."
        )
    return change


def spoc_change_confirm(*, change_id: int, actor: User) -> SpocChange:
    """The Feedback team confirms: the old SPOC loses SPOC rights now, the new one gains them."""
    with transaction.atomic():
        change = _lock_change(change_id, actor=actor)
        req = change.request
        if req.state not in CONTACT_STATES:
            raise ActionRefused(
                f"Request {req.reference} is {req.get_state_display().lower()}, so its SPOC can "
                "no longer be changed. Decline the proposal."
            )
        now = timezone.now()
        details = ContactDetails(
            name=change.name, job_title=change.job_title, email=change.email, phone=change.phone
        )
        contact_replace(req, role=ContactRole.SPOC, details=details, at=now)
        change.state, change.decided_at, change.decided_by = SpocChangeState.CONFIRMED, now, actor
        change.save(update_fields=["state", "decided_at", "decided_by"])
        audit(
            req,
            actor,
            "contact.spoc_changed",
            message=f"SPOC changed from {change.previous_spoc_email or 'nobody'} to "
            f"{_describe(change)}.",
        )
        enqueue_after_commit(SPOC_CHANGE_EMAIL_TASK, change_id=change.pk, kind="confirmed")
    return change


def spoc_change_decline(*, change_id: int, actor: User, reason: str) -> SpocChange:
    """The Feedback team declines, with the reason everyone concerned is told."""
    if not reason.strip():
        raise ActionRefused("Give the reason for declining; the organisation is told it.")
    with transaction.atomic():
        change = _lock_change(change_id, actor=actor)
        change.state, change.decided_at, change.decided_by = (
            SpocChangeState.DECLINED,
            timezone.now(),
            actor,
        )
        change.decline_reason = reason
        change.save(update_fields=["state", "decided_at", "decided_by", "decline_reason"])
        audit(
            change.request,
            actor,
            "contact.spoc_change_declined",
            message=f"Change to {change.email} declined: {reason}",
        )
        enqueue_after_commit(SPOC_CHANGE_EMAIL_TASK, change_id=change.pk, kind="declined")
    return change
