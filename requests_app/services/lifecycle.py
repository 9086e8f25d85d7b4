"""The request's own lifecycle: submit, review, reject, withdraw, federate.

Each runs in one transaction: lock the row, check the actor may act, change state, write the
audit event, and queue side effects (emails, check runs) to run after commit.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused, AnswerNeeded

from .. import selectors
from ..audit import audit
from ..models import Channel, Contact, ContactRole, FederationRequest, Organisation, RequestedDomain
from ..outbox import enqueue_after_commit
from .allow_list import allow_list_add
from .check_runs import queue_check_run
from .contacts import ContactDetails
from .domain_names import clean_domain_list
from .locking import apply_transition, lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

MAX_DOMAINS_PER_REQUEST = 50
SEND_EMAIL_TASK = "requests_app.tasks.send_request_email"


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
    signatory: ContactDetails | None = None,
    actor: User | None = None,
    on_behalf_reason: str = "",
    confirmed_email: bool = False,
) -> FederationRequest:
    """Record a new request from the web form (actor None: submissions.submission_confirm, once
    the requester has confirmed their address) or the service desk (actor given)."""
    channel = _channel(actor=actor, on_behalf_reason=on_behalf_reason)
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
            organisation = _organisation_for(
                name=organisation_name, ods_code=ods_code, has_nhsmail_presence=has_nhsmail_presence
            )
            req: FederationRequest = FederationRequest.objects.create(
                organisation=organisation,
                channel=channel,
                raised_by=actor,
                raised_on_behalf_reason=on_behalf_reason.strip(),
                requester_name=requester_name.strip(),
                requester_email=requester_email.strip(),
                justification=justification.strip() or "Teams federation",
            )
            _name_parts(
                req,
                names=names,
                spoc=spoc,
                technical_contact=technical_contact,
                signatory=signatory,
            )
            submitted_by = "" if actor else f"{req.requester_name} <{req.requester_email}>"
            confirmed = " The requester confirmed their email address by link." * confirmed_email
            audit(
                req,
                actor,
                "request.submitted",
                to_state=req.state,
                message=f"Channel: {req.get_channel_display()}. Domains: {', '.join(names)}."
                + confirmed,
                actor_label=submitted_by,
            )
            queue_request_email(req, "submitted")
            queue_check_run(req, actor=actor, actor_label=submitted_by)
    except IntegrityError:
        # Another request took one of these domains between our check and our insert.
        raise ActionRefused(
            "One of these domains was requested by someone else a moment ago. "
            "Check the domains and try again."
        ) from None
    return req


def _channel(*, actor: User | None, on_behalf_reason: str) -> Channel:
    """The web form (no actor), or the service desk raising it on the organisation's behalf."""
    if actor is None:
        return Channel.SELF_SERVICE
    ensure_may(actor, "raise_on_behalf")
    if not on_behalf_reason.strip():
        raise ActionRefused("Say why the service desk is raising this request.")
    return Channel.SERVICE_DESK


def _name_parts(
    req: FederationRequest,
    *,
    names: list[str],
    spoc: ContactDetails,
    technical_contact: ContactDetails,
    signatory: ContactDetails | None,
) -> None:
    """A new request's reference (FR-<id>), domains and first contacts."""
    req.reference = f"FR-{req.pk:06d}"
    req.save(update_fields=["reference"])
    RequestedDomain.objects.bulk_create(RequestedDomain(request=req, name=name) for name in names)
    named = [(ContactRole.SPOC, spoc), (ContactRole.TECHNICAL, technical_contact)]
    if signatory is not None:  # optional on the form: "I don't know yet" is allowed
        named.append((ContactRole.SIGNATORY, signatory))
    Contact.objects.bulk_create(
        Contact(request=req, role=role, **details.__dict__) for role, details in named
    )


def _organisation_for(*, name: str, ods_code: str, has_nhsmail_presence: bool) -> Organisation:
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


def request_review(
    *, request_id: int, actor: User, notes: str, override_reason: str = ""
) -> FederationRequest:
    """The Feedback team records that the domain meets the initial review criteria; with a
    domain check failed or not made (not a pass either way) that takes a reason for accepting
    anyway, kept in the audit log."""
    if not notes.strip():
        raise ActionRefused("Write the review notes: what was checked and what was found.")
    with transaction.atomic():
        req = lock_request(request_id)
        not_passed = selectors.checks_not_passed(req)
        if not_passed and not override_reason.strip():
            found = []
            if not_passed.failed:
                found.append(f"failed for: {'; '.join(not_passed.failed)}")
            if not_passed.not_checked:
                found.append(
                    "could not be made (the DNS queries got no answer) for: "
                    + "; ".join(not_passed.not_checked)
                )
            raise AnswerNeeded(
                f"The latest domain checks {', and '.join(found)}. Give the reason for "
                "accepting the domains anyway, run the checks again, or reject the request."
            )
        message = notes
        if not_passed.failed:
            message += f"\nAccepted despite failed checks ({'; '.join(not_passed.failed)})"
        if not_passed.not_checked:
            message += (
                "\nAccepted despite checks that could not be made "
                f"({'; '.join(not_passed.not_checked)})"
            )
        if not_passed:
            message += f": {override_reason}"
        apply_transition(
            req,
            actor=actor,
            action="review",
            audit_action="request.reviewed",
            message=message,
            reviewer=actor,
            notes=notes,
        )
    return req


def request_reject(*, request_id: int, actor: User, reason: str) -> FederationRequest:
    """Close the request as not meeting the criteria; its domains become free again."""
    if not reason.strip():
        raise ActionRefused("Give the reason for rejecting the request; the requester sees it.")
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req,
            actor=actor,
            action="reject",
            audit_action="request.rejected",
            message=reason,
            reason=reason,
        )
        req.domains.update(is_live=False)
        queue_request_email(req, "rejected")
    return req


def request_withdraw(*, request_id: int, actor: User | None, reason: str = "") -> FederationRequest:
    """Withdraw by staff, or by the requester through their private link (actor None)."""
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req,
            actor=actor,
            action="withdraw",
            audit_action="request.withdrawn",
            message=reason,
            reason=reason,
        )
        req.domains.update(is_live=False)
        queue_request_email(req, "withdrawn")
    return req


def request_federate(
    *, request_id: int, actor: User, effective_date: date | None = None
) -> FederationRequest:
    """Put the request's domains on the allow list from effective_date (today by default)."""
    effective_date = effective_date or timezone.localdate()
    try:
        with transaction.atomic():
            req = lock_request(request_id)
            names = list(req.domains.values_list("name", flat=True))
            apply_transition(
                req,
                actor=actor,
                action="federate",
                audit_action="request.federated",
                message=f"Effective from {effective_date:%d %B %Y}: {', '.join(names)}.",
                effective_date=effective_date,
            )
            already = selectors.domains_on_allow_list(names)
            if already:  # refused after the transition's checks; the transaction undoes it
                raise ActionRefused(
                    f"Already on the allow list: {', '.join(already)}. "
                    "Check the allow list before federating."
                )
            allow_list_add(names=names, request=req, effective_date=effective_date, actor=actor)
            queue_request_email(req, "federated")
    except IntegrityError:  # an import added one of the domains a moment ago
        raise ActionRefused(
            "One of these domains was put on the allow list a moment ago. "
            "Check the allow list, then try again."
        ) from None
    return req
