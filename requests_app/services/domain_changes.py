"""Domain changes after federation: removing one domain from a federated (or suspended)
request, by its SPOC in the portal or by the Feedback team in the workbench.

The domain leaves the allow list from an effective date (today or later) and stays recorded on
the request (removed_at, removed_from); it is no longer live, so it may be requested afresh.
The last domain is never removed this way: a request without domains is an agreement ending,
which is offboarding (the organisation asks, the team confirms).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from ..audit import audit
from ..domains import domain_unicode
from ..models import OFFBOARDING_STATES, ContactRole, FederationRequest, RequestedDomain
from ..outbox import enqueue_after_commit
from .allow_list import allow_list_end
from .contacts import lock_request_for_contact
from .domain_additions import additions_cancel_open
from .locking import lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DOMAIN_REMOVED_EMAIL_TASK = "requests_app.tasks.send_domain_removed_email"
# The states in which an agreement is in force, and so a domain may leave it.
DOMAIN_REMOVAL_STATES = OFFBOARDING_STATES
ONLY_THE_SPOC = (
    "Only the request's SPOC can remove a domain. Ask them, or the NHSmail Feedback team."
)


def domain_removal_refusal(req: FederationRequest, roles: set[str] | None = None) -> str:
    """Why a domain may not be removed from req now (by a contact holding roles, when given),
    or "". Whether the domain is the last one is judged per domain, by the service."""
    if roles is not None and ContactRole.SPOC not in roles:
        return ONLY_THE_SPOC
    if req.state not in DOMAIN_REMOVAL_STATES:
        return (
            f"Request {req.reference} is {req.get_state_display().lower()}: a domain can be "
            "removed only while the agreement is in force (federated or suspended)."
        )
    return ""


def last_domain_refusal(domain: RequestedDomain) -> str:
    return (
        f"{domain.display_name} is the request's last domain. Removing it would end the "
        "agreement: that is offboarding, which the SPOC or signatory asks for with “End the "
        "agreement”."
    )


def _remove(
    req: FederationRequest,
    *,
    domain_id: int,
    effective_date: date,
    reason: str,
    actor: User | None,
    actor_label: str,
) -> RequestedDomain:
    """Remove one domain of a locked request; the caller has checked who acts."""
    refusal = domain_removal_refusal(req)
    if refusal:
        raise ActionRefused(refusal)
    kept = list(req.domains.select_for_update().kept().order_by("name"))
    domain = next((d for d in kept if d.pk == domain_id), None)
    if domain is None:
        raise ActionRefused(
            "That domain is not one of this request's, or it was removed already. Reload the "
            "page to see where it stands."
        )
    if len(kept) == 1:
        raise ActionRefused(last_domain_refusal(domain))
    domain.removed_at = timezone.now()
    domain.removed_from = effective_date
    domain.removal_reason = reason
    domain.is_live = False
    domain.save(update_fields=["removed_at", "removed_from", "removal_reason", "is_live"])
    allow_list_end(
        request=req,
        effective_to=effective_date,
        actor=actor,
        reason=f"Domain removed: {reason}",
        names=[domain.name],
    )
    audit(
        req,
        actor,
        "request.domain_removed",
        message=(
            f"{domain_unicode(domain.name)} off the allow list from "
            f"{effective_date:%d %B %Y}. {reason}"
        ),
        actor_label=actor_label,
    )
    # An amended agreement out for signature lists the domain: signing it would agree to it
    # again. The addition is cancelled; the SPOC asks afresh for an agreement that is right.
    additions_cancel_open(
        req,
        actor=actor,
        why=f"{domain_unicode(domain.name)} was removed while the amended agreement listing it "
        "was out for signature. Ask again for a fresh one.",
        only_approved=True,
        actor_label=actor_label,
    )
    # Its own task, not queue_request_email's: the email names the domain and its date.
    enqueue_after_commit(DOMAIN_REMOVED_EMAIL_TASK, request_id=req.pk, domain_id=domain.pk)
    return domain


def _checked(reason: str, effective_date: date) -> str:
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say why the domain is being removed; the organisation is told it.")
    if effective_date < timezone.localdate():
        raise ActionRefused(
            "The domain cannot leave the allow list in the past: choose today or later."
        )
    return reason


def domain_remove_by_contact(
    *, request_id: int, domain_id: int, actor_email: str, effective_date: date, reason: str
) -> RequestedDomain:
    """The request's SPOC removes one of its domains from effective_date (today or later)."""
    reason = _checked(reason, effective_date)
    with transaction.atomic():
        # To anyone who is not one of its contacts, the request does not exist.
        req, roles = lock_request_for_contact(request_id, actor_email=actor_email)
        refusal = domain_removal_refusal(req, roles)
        if refusal:
            raise ActionRefused(refusal)
        return _remove(
            req,
            domain_id=domain_id,
            effective_date=effective_date,
            reason=reason,
            actor=None,
            actor_label=actor_email.lower(),
        )


def domain_remove(
    *, request_id: int, domain_id: int, actor: User, effective_date: date, reason: str
) -> RequestedDomain:
    """The Feedback team removes one of a request's domains from effective_date."""
    reason = _checked(reason, effective_date)
    ensure_may(actor, "remove_domain")
    with transaction.atomic():
        req = lock_request(request_id)
        return _remove(
            req,
            domain_id=domain_id,
            effective_date=effective_date,
            reason=reason,
            actor=actor,
            actor_label="",
        )
