"""Every write the business does to a federation request, one function per action.

Each runs in one transaction: lock the row, check the actor may act, change state, write the
audit event, and queue side effects (emails, rendering) to run after commit.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from .audit import REQUESTER_LABEL, audit
from .check_runs import queue_check_run
from .domains import clean_domain_list
from .errors import ActionRefused
from .models import (
    AllowListEntry,
    Channel,
    Contact,
    ContactRole,
    FederationRequest,
    Organisation,
    RequestedDomain,
)
from .outbox import enqueue_after_commit
from .permissions import ensure_may

MAX_DOMAINS_PER_REQUEST = 50
SEND_EMAIL_TASK = "requests_app.tasks.send_request_email"

# What each action is called in a sentence, and why its guard may stop it.
ACTION_PHRASES = {
    "review": "reviewed",
    "send_agreement": "sent an agreement",
    "record_signature": "marked as signed",
    "verify_evidence": "marked as evidence verified",
    "federate": "federated",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "expire_agreement": "returned for a fresh agreement",
}


def _review_guard_reason(req: FederationRequest) -> str:
    hours = settings.REVIEW_CHECKS_MAX_AGE_HOURS
    if req.running_check_runs().exists():
        return "The domain checks are running. Review once they have completed."
    run = req.latest_completed_check_run()
    if run is None:
        return "The domain checks have not been run. Run them, then review once they complete."
    return (
        f"The latest domain checks completed {run.completed_at:%d %B %Y at %H:%M} UTC, more than "
        f"{hours} hours ago. Run the checks again and review once they complete."
    )


GUARD_REASONS = {
    "review": _review_guard_reason,
    "send_agreement": lambda req: (
        "The agreement has not been rendered yet. It is sent as soon as it is ready."
    ),
    "record_signature": lambda req: (
        "Upload the signed copy and give the signatory's name and job title, confirming they "
        "hold a Director-level role, before marking the agreement signed."
    ),
    "verify_evidence": lambda req: (
        "Evidence is not yet verified for: " + "; ".join(req.missing_evidence()) + "."
        if req.missing_evidence()
        else "No evidence has been verified yet."
    ),
}


@dataclass(frozen=True)
class ContactDetails:
    name: str
    job_title: str
    email: str
    phone: str = ""


def lock_request(request_id: int) -> FederationRequest:
    """The request, row-locked until the transaction ends."""
    try:
        return FederationRequest.objects.select_for_update().get(pk=request_id)
    except FederationRequest.DoesNotExist:
        raise ActionRefused("That request does not exist.") from None


def ensure_may_now(req: FederationRequest, actor, action: str) -> None:
    """Raise ActionRefused unless actor may take action and the request's state allows it."""
    ensure_may(actor, action)
    if not can_proceed(getattr(req, action), check_conditions=False):
        raise ActionRefused(
            f"Request {req.reference} is now “{req.get_state_display()}”, so it cannot be "
            f"{ACTION_PHRASES[action]}. Reload the page to see where it stands."
        )


def apply_transition(
    req: FederationRequest, actor, action: str, audit_action: str, *, message: str = "", **kwargs
) -> FederationRequest:
    """Check permission, state and guard, take the transition, save and audit it.

    Call inside a transaction on a row from lock_request.
    """
    ensure_may_now(req, actor, action)
    method = getattr(req, action)
    if not can_proceed(method):
        raise ActionRefused(GUARD_REASONS[action](req))
    from_state = req.state
    method(**kwargs)
    try:
        req.save()
    except ConcurrentTransition:
        raise ActionRefused(
            f"Request {req.reference} was changed by someone else a moment ago. "
            "Reload the page to see where it stands."
        ) from None
    audit(
        req,
        actor,
        audit_action,
        message=message,
        from_state=from_state,
        to_state=req.state,
        actor_label="" if actor else REQUESTER_LABEL,
    )
    return req


def queue_request_email(req: FederationRequest, kind: str, *, key: str = "") -> None:
    """Email the requester and SPOC after commit; key tells apart repeatable kinds."""
    enqueue_after_commit(SEND_EMAIL_TASK, request_id=req.pk, kind=kind, key=key or kind)


def request_submit(
    *,
    organisation_name: str,
    ods_code: str,
    has_nhsmail_presence: bool,
    domains: list[str],
    justification: str,
    requester_name: str,
    requester_email: str,
    spoc: ContactDetails,
    technical_contact: ContactDetails,
    actor=None,
    on_behalf_reason: str = "",
) -> FederationRequest:
    """Record a new request from the web form (actor None) or the service desk (actor given)."""
    channel = Channel.SELF_SERVICE
    if actor is not None:
        ensure_may(actor, "raise_on_behalf")
        if not on_behalf_reason.strip():
            raise ActionRefused("Say why the service desk is raising this request.")
        channel = Channel.SERVICE_DESK
    if not domains:
        raise ActionRefused("Enter at least one domain.")
    if len(domains) > MAX_DOMAINS_PER_REQUEST:
        raise ActionRefused(f"Enter at most {MAX_DOMAINS_PER_REQUEST} domains in one request.")
    ods_code = ods_code.strip().upper()
    try:
        with transaction.atomic():
            names, errors = clean_domain_list(domains, reveal_reference=actor is not None)
            if errors:
                raise ActionRefused(" ".join(errors))
            organisation = _organisation_for(organisation_name, ods_code, has_nhsmail_presence)
            req = FederationRequest.objects.create(
                organisation=organisation,
                channel=channel,
                raised_by=actor,
                raised_on_behalf_reason=on_behalf_reason.strip(),
                requester_name=requester_name.strip(),
                requester_email=requester_email.strip(),
                justification=justification.strip() or "Teams federation",
            )
            submitted_by = "" if actor else f"{req.requester_name} <{req.requester_email}>"
            req.reference = f"FR-{req.pk:06d}"
            req.save(update_fields=["reference"])
            RequestedDomain.objects.bulk_create(
                RequestedDomain(request=req, name=name) for name in names
            )
            Contact.objects.bulk_create(
                [
                    Contact(request=req, role=ContactRole.SPOC, **spoc.__dict__),
                    Contact(request=req, role=ContactRole.TECHNICAL, **technical_contact.__dict__),
                ]
            )
            audit(
                req,
                actor,
                "request.submitted",
                to_state=req.state,
                message=f"Channel: {req.get_channel_display()}. Domains: {', '.join(names)}.",
                actor_label=submitted_by,
            )
            queue_request_email(req, "submitted")
            queue_check_run(req, actor, actor_label=submitted_by)
    except IntegrityError:
        # Another request took one of these domains between our check and our insert.
        raise ActionRefused(
            "One of these domains was requested by someone else a moment ago. "
            "Check the domains and try again."
        ) from None
    return req


def _organisation_for(name: str, ods_code: str, has_nhsmail_presence: bool) -> Organisation:
    # Always a new row, as the requester described it: an ODS code typed on a public form
    # proves nothing, so it must not attach a request to an organisation already known.
    organisation = Organisation(
        name=name.strip(), ods_code=ods_code, has_nhsmail_presence=has_nhsmail_presence
    )
    try:
        organisation.full_clean()
    except ValidationError as error:
        raise ActionRefused(" ".join(error.messages)) from None
    organisation.save()
    return organisation


def request_review(*, request_id: int, actor, notes: str) -> FederationRequest:
    """The Feedback team records that the domain meets the initial review criteria."""
    if not notes.strip():
        raise ActionRefused("Write the review notes: what was checked and what was found.")
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req, actor, "review", "request.reviewed", message=notes, reviewer=actor, notes=notes
        )
    return req


def request_reject(*, request_id: int, actor, reason: str) -> FederationRequest:
    """Close the request as not meeting the criteria; its domains become free again."""
    if not reason.strip():
        raise ActionRefused("Give the reason for rejecting the request; the requester sees it.")
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(req, actor, "reject", "request.rejected", message=reason, reason=reason)
        req.domains.update(is_live=False)
        queue_request_email(req, "rejected")
    return req


def request_withdraw(*, request_id: int, actor, reason: str = "") -> FederationRequest:
    """Withdraw by staff, or by the requester through their private link (actor None)."""
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(req, actor, "withdraw", "request.withdrawn", message=reason, reason=reason)
        req.domains.update(is_live=False)
        queue_request_email(req, "withdrawn")
    return req


def request_federate(*, request_id: int, actor, effective_date: date | None = None):
    """Put the request's domains on the allow list from effective_date (today by default)."""
    effective_date = effective_date or timezone.localdate()
    try:
        return _federate(request_id, actor, effective_date)
    except IntegrityError:  # an import added one of the domains a moment ago
        raise ActionRefused(
            "One of these domains was put on the allow list a moment ago. "
            "Check the allow list, then try again."
        ) from None


def _federate(request_id: int, actor, effective_date: date) -> FederationRequest:
    with transaction.atomic():
        req = lock_request(request_id)
        ensure_may_now(req, actor, "federate")
        # Four eyes (issue 5): whoever judged the evidence does not also federate on it.
        verified_items = req.evidence_items.filter(status="verified", verified_by=actor)
        if actor is not None and (req.evidence_verified_by_id == actor.pk or verified_items):
            raise ActionRefused(
                "You verified this request's evidence, so someone else in the Feedback team "
                "must federate it (four eyes)."
            )
        names = list(req.domains.values_list("name", flat=True))
        already = list(
            AllowListEntry.objects.filter(domain__in=names).values_list("domain", flat=True)
        )
        if already:
            raise ActionRefused(
                f"Already on the allow list: {', '.join(sorted(already))}. "
                "Check the allow list before federating."
            )
        apply_transition(
            req,
            actor,
            "federate",
            "request.federated",
            message=f"Effective from {effective_date:%d %B %Y}: {', '.join(names)}.",
            effective_date=effective_date,
        )
        AllowListEntry.objects.bulk_create(
            AllowListEntry(
                domain=name,
                request=req,
                effective_date=effective_date,
                added_by=actor,
                source="portal",
            )
            for name in names
        )
        queue_request_email(req, "federated")
    return req
