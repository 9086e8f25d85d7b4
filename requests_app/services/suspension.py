"""After federation: suspend a partner (its domains leave the allow list from a date, and stay
recorded), reinstate it once fresh checks pass, or revoke its agreement for good.

Revoking is taken only from suspended, by someone other than whoever suspended: one person
pauses, a second ends (four eyes). Each is audited and emailed to the requester and SPOC.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from portal_kit.errors import ActionRefused

from .. import selectors
from ..audit import audit
from ..models import (
    FederationRequest,
    OffboardingAsk,
    OffboardingDecision,
    RemediationCase,
    RemediationClosure,
    State,
)
from .allow_list import allow_list_end, allow_list_restore
from .domain_additions import additions_cancel_open
from .lifecycle import queue_request_email
from .locking import apply_transition, lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _reason(reason: str, what: str) -> str:
    if not reason.strip():
        raise ActionRefused(f"Give the reason for {what}; the organisation is told it.")
    return reason.strip()


def request_suspend(
    *, request_id: int, actor: User, reason: str, effective_date: date | None = None
) -> FederationRequest:
    """Take a federated request's domains off the allow list from effective_date (today by
    default); reversible by request_reinstate."""
    reason = _reason(reason, "suspending the request")
    effective_date = effective_date or timezone.localdate()
    if effective_date < timezone.localdate():
        raise ActionRefused("The suspension cannot start in the past: choose today or later.")
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req,
            actor=actor,
            action="suspend",
            audit_action="request.suspended",
            message=f"Off the allow list from {effective_date:%d %B %Y}. {reason}",
            suspender=actor,
            reason=reason,
            effective_date=effective_date,
        )
        allow_list_end(
            request=req, effective_to=effective_date, actor=actor, reason=f"Suspended: {reason}"
        )
        # A domain is added only to an agreement in force: the organisation asks again later.
        additions_cancel_open(req, actor=actor, why=f"The request was suspended: {reason}")
        queue_request_email(req, "suspended", key=f"suspended:{req.suspended_at:%Y%m%d%H%M%S%f}")
    return req


def reinstatement_refusal(req: FederationRequest) -> str:
    """Why req cannot be reinstated yet: its domains must pass checks run since it was
    suspended (or "" when they do)."""
    run = req.latest_completed_check_run()
    if run is None or req.suspended_at is None or run.requested_at < req.suspended_at:
        return (
            "Run the domain checks again: a request is reinstated on checks made since it "
            "was suspended."
        )
    not_passed = selectors.checks_not_passed(req)
    if not_passed.failed:
        return f"The latest domain checks still fail for: {'; '.join(not_passed.failed)}."
    if not_passed.not_checked:
        return (
            "Some of the latest domain checks could not be made: "
            f"{'; '.join(not_passed.not_checked)}. Run them again."
        )
    return ""


def request_reinstate(*, request_id: int, actor: User, reason: str) -> FederationRequest:
    """Back to federated, the domains back on the allow list from today, once fresh checks
    pass."""
    reason = _reason(reason, "reinstating the request")
    today = timezone.localdate()
    with transaction.atomic():
        req = lock_request(request_id)
        if req.state == State.SUSPENDED:  # in any other state, the door's own sentence
            refusal = reinstatement_refusal(req)
            if refusal:
                raise ActionRefused(refusal)
        apply_transition(
            req,
            actor=actor,
            action="reinstate",
            audit_action="request.reinstated",
            message=f"Back on the allow list from {today:%d %B %Y}. {reason}",
            effective_date=today,
        )
        allow_list_restore(request=req, effective_date=today, actor=actor)
        queue_request_email(req, "reinstated", key=f"reinstated:{timezone.now():%Y%m%d%H%M%S%f}")
    return req


def revoke_four_eyes(req: FederationRequest, actor: User | None) -> str:
    """revoke: whoever suspended the request does not also end its agreement."""
    if actor is not None and req.suspended_by_id == actor.pk:
        return (
            "You suspended this request, so someone else in the Feedback team must revoke it "
            "(four eyes)."
        )
    return ""


def request_revoke(*, request_id: int, actor: User, reason: str) -> FederationRequest:
    """End a suspended request's agreement for good; its domains stay off the allow list (from
    today at the latest) and may be requested afresh."""
    reason = _reason(reason, "revoking the agreement")
    today = timezone.localdate()
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req,
            actor=actor,
            action="revoke",
            audit_action="request.revoked",
            message=reason,
            reason=reason,
        )
        # A suspension dated later than today ends today instead.
        allow_list_end(request=req, effective_to=today, actor=actor, reason=f"Revoked: {reason}")
        req.domains.update(is_live=False)
        _close_what_is_open(req, actor=actor, why=f"The agreement was revoked: {reason}")
        queue_request_email(req, "revoked")
    return req


def _close_what_is_open(req: FederationRequest, *, actor: User, why: str) -> None:
    """A revoked agreement leaves nothing waiting: its remediation case and any ask to end it
    are closed with it (the revocation's email tells the organisation why)."""
    additions_cancel_open(req, actor=actor, why=why)  # none once suspended; kept safe
    now = timezone.now()
    for case in RemediationCase.objects.select_for_update().open().filter(request=req):
        case.closed_at = now
        case.how_closed = RemediationClosure.STAFF
        case.closed_by = actor
        case.close_reason = why
        case.save()
        audit(req, actor, "remediation.closed", message=f"Closed by staff: {why}")
    for ask in OffboardingAsk.objects.select_for_update().filter(
        request=req, decision=OffboardingDecision.PENDING
    ):
        ask.decision = OffboardingDecision.DECLINED
        ask.decided_at = now
        ask.decided_by = actor
        ask.decline_reason = why
        ask.save()
        audit(req, actor, "request.offboarding_declined", message=why)
