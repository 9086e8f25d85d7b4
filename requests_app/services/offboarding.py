"""Offboarding: the organisation ends its agreement itself. Its SPOC or signatory asks in the
portal, with a reason and a notice date; the Feedback team confirms (the request is offboarded,
its domains leave the allow list from that date and stay recorded) or declines with a reason.

The ask is the organisation's, the decision the team's: staff never offboard without an ask
(the transition's own condition).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from ..audit import audit
from ..models import (
    OFFBOARDING_STATES,
    ContactRole,
    FederationRequest,
    OffboardingAsk,
    OffboardingDecision,
)
from ..outbox import enqueue_after_commit
from .allow_list import allow_list_end
from .contacts import lock_request_for_contact
from .domain_additions import additions_cancel_open
from .locking import apply_transition, lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

OFFBOARDING_EMAIL_TASK = "requests_app.tasks.send_offboarding_email"
ONLY_SPOC_OR_SIGNATORY = (
    "Only the request's SPOC or signatory can ask to end the agreement. Ask one of them, or the "
    "NHSmail Feedback team."
)


def offboarding_ask_refusal(req: FederationRequest, roles: set[str]) -> str:
    """Why a contact holding roles on req may not ask to end its agreement now, or ""."""
    if not roles & {ContactRole.SPOC, ContactRole.SIGNATORY}:
        return ONLY_SPOC_OR_SIGNATORY
    if req.state not in OFFBOARDING_STATES:
        return (
            f"Request {req.reference} is {req.get_state_display().lower()}: only an agreement in "
            "force (federated or suspended) can be ended."
        )
    return ""


def _pending(req: FederationRequest) -> OffboardingAsk | None:
    ask: OffboardingAsk | None = (
        OffboardingAsk.objects.select_for_update()
        .filter(request=req, decision=OffboardingDecision.PENDING)
        .first()
    )
    return ask


def request_offboarding_ask(
    *, request_id: int, actor_email: str, reason: str, notice_date: date
) -> OffboardingAsk:
    """The SPOC or signatory asks to end the agreement, the domains off the allow list from
    notice_date (today or later); the Feedback team decides."""
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Say why your organisation is ending the agreement.")
    if notice_date < timezone.localdate():
        raise ActionRefused("The notice date cannot be in the past: choose today or later.")
    with transaction.atomic():
        # To anyone who is not one of its contacts, the request does not exist.
        req, roles = lock_request_for_contact(request_id, actor_email=actor_email)
        refusal = offboarding_ask_refusal(req, roles)
        if refusal:
            raise ActionRefused(refusal)
        try:
            with transaction.atomic():
                ask = OffboardingAsk.objects.create(
                    request=req,
                    asked_by_email=actor_email.lower(),
                    reason=reason,
                    notice_date=notice_date,
                )
        except IntegrityError:
            raise ActionRefused(
                "Your organisation has asked to end this agreement already; the NHSmail "
                "Feedback team is deciding on it."
            ) from None
        audit(
            req,
            None,
            "request.offboarding_asked",
            message=f"Off the allow list from {notice_date:%d %B %Y}. {reason}",
            actor_label=actor_email.lower(),
        )
        enqueue_after_commit(OFFBOARDING_EMAIL_TASK, ask_id=ask.pk, kind="asked")
    return ask


def request_offboard(*, request_id: int, actor: User) -> FederationRequest:
    """Confirm the organisation's ask: the request is offboarded (terminal), its domains leave
    the allow list from the notice date and may be requested afresh."""
    with transaction.atomic():
        req = lock_request(request_id)
        ask = _pending(req)  # None: the door refuses on the transition's condition
        if ask:
            ask.decided_at = timezone.now()
        effective = ask.off_allow_list_from if ask else timezone.localdate()
        apply_transition(
            req,
            actor=actor,
            action="offboard",
            audit_action="request.offboarded",
            message=(
                f"Off the allow list from {effective:%d %B %Y}, as {ask.asked_by_email} asked. "
                f"{ask.reason}"
                if ask
                else ""
            ),
            reason=ask.reason if ask else "",
        )
        assert ask is not None  # the transition's condition: an ask is pending
        ask.decision, ask.decided_by = OffboardingDecision.OFFBOARDED, actor
        ask.save(update_fields=["decision", "decided_at", "decided_by"])
        # A suspension's end already reached stays as it is; anything later ends on the date.
        allow_list_end(
            request=req, effective_to=effective, actor=actor, reason=f"Offboarded: {ask.reason}"
        )
        additions_cancel_open(
            req, actor=actor, why=f"The organisation ended the agreement: {ask.reason}"
        )
        req.domains.update(is_live=False)
        enqueue_after_commit(OFFBOARDING_EMAIL_TASK, ask_id=ask.pk, kind="offboarded")
    return req


def request_offboarding_decline(*, request_id: int, actor: User, reason: str) -> OffboardingAsk:
    """Decline the organisation's ask, with the reason it is emailed; the agreement stands."""
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Give the reason for declining; the organisation is told it.")
    ensure_may(actor, "offboard")
    with transaction.atomic():
        req = lock_request(request_id)
        ask = _pending(req)
        if ask is None:
            raise ActionRefused(
                f"No ask to end the agreement of {req.reference} is waiting: it was decided "
                "already. Reload the page to see where it stands."
            )
        ask.decision, ask.decided_at, ask.decided_by = (
            OffboardingDecision.DECLINED,
            timezone.now(),
            actor,
        )
        ask.decline_reason = reason
        ask.save(update_fields=["decision", "decided_at", "decided_by", "decline_reason"])
        audit(
            req,
            actor,
            "request.offboarding_declined",
            message=f"The ask of {ask.asked_by_email} to end the agreement is declined: {reason}",
        )
        enqueue_after_commit(OFFBOARDING_EMAIL_TASK, ask_id=ask.pk, kind="declined")
    return ask
