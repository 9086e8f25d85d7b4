"""Adding a domain to a federated request: the SPOC asks in the portal, the domain is checked
and held (no other request may take it), and the Feedback team refuses it here or approves it
(agreements.services.amendments: an amended agreement listing every domain goes out for
signature). Once the amendment is signed, addition_complete puts the domain on the allow list.

The request stays federated throughout; the addition's own state says where it stands. A
request suspended or offboarded meanwhile cancels its open addition; an amended agreement left
unsigned for FPA_EXPIRY_DAYS expires it (judged at every action, and by the daily job).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import IntegrityError, transaction
from django.utils import timezone
from django_fsm import ConcurrentTransition, can_proceed

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused, AnswerNeeded

from ..audit import SYSTEM_LABEL, audit
from ..domains import DomainError, domain_unicode, normalise_domain
from ..models import (
    AdditionState,
    CheckRunPurpose,
    CheckRunState,
    CheckStatus,
    ContactRole,
    DomainAddition,
    DomainCheck,
    FederationRequest,
    RequestedDomain,
    State,
    review_checks_max_age,
)
from ..outbox import enqueue_after_commit
from ..selectors import open_addition
from .allow_list import allow_list_add
from .check_runs import queue_check_run
from .contacts import lock_request_for_contact
from .domain_names import clean_domain
from .lifecycle import MAX_DOMAINS_PER_REQUEST
from .locking import lock_request

if TYPE_CHECKING:
    from datetime import datetime

    from django.contrib.auth.models import User

ADDITION_EMAIL_TASK = "requests_app.tasks.send_domain_addition_email"
ONLY_THE_SPOC = "Only the request's SPOC can add a domain. Ask them, or the NHSmail Feedback team."


def domain_addition_refusal(req: FederationRequest, roles: set[str] | None = None) -> str:
    """Why a domain may not be asked for on req now (by a contact holding roles, when given),
    or "". Whether the domain itself may be added is judged by the service."""
    if roles is not None and ContactRole.SPOC not in roles:
        return ONLY_THE_SPOC
    if req.state != State.FEDERATED:
        return (
            f"Request {req.reference} is {req.get_state_display().lower()}: a domain can be "
            "added only while the agreement is in force and not suspended."
        )
    pending = open_addition(req)
    if pending is not None and not pending.agreement_lapsed():
        return (
            f"{pending.domain.display_name} is being added already "
            f"({pending.get_state_display().lower()}). Add another domain once that is done."
        )
    return ""


def domain_addition_request(*, request_id: int, actor_email: str, domain: str) -> DomainAddition:
    """The request's SPOC asks for domain to be added: it is held for the request, checked,
    and waits for the Feedback team's review. Raises ActionRefused with a sentence."""
    with transaction.atomic():
        # To anyone who is not one of its contacts, the request does not exist.
        req, roles = lock_request_for_contact(request_id, actor_email=actor_email)
        pending = open_addition(req)
        if pending is not None:
            # An amended agreement past its days is expired now, not only by the daily job.
            locked = DomainAddition.objects.select_for_update().get(pk=pending.pk)
            addition_expire_if_lapsed(req, locked)
        refusal = domain_addition_refusal(req, roles)
        if refusal:
            raise ActionRefused(refusal)
        try:
            name = normalise_domain(domain)
            if req.domains.kept().filter(name=name).exists():
                raise ActionRefused(
                    f"{domain_unicode(name)} is already one of this request's domains: it is "
                    "on NHSmail's allow list."
                )
            # The public form's words for a domain federated or held by another request.
            name = clean_domain(name, exclude_request_id=req.pk)
        except DomainError as error:
            raise ActionRefused(str(error)) from None
        if req.domains.kept().count() >= MAX_DOMAINS_PER_REQUEST:
            raise ActionRefused(
                f"This request covers {MAX_DOMAINS_PER_REQUEST} domains, the most one request "
                "may. Make a new request for further domains."
            )
        try:
            with transaction.atomic():  # a savepoint: the refusal below keeps the lock's work
                held = RequestedDomain.objects.create(request=req, name=name, pending_addition=True)
        except IntegrityError:
            # Another request took it between the check and the insert.
            raise ActionRefused(
                f"{domain_unicode(name)} was requested by someone else a moment ago."
            ) from None
        actor_label = actor_email.lower()
        run = queue_check_run(req, purpose=CheckRunPurpose.ADDITION, actor_label=actor_label)
        addition: DomainAddition = DomainAddition.objects.create(
            request=req, domain=held, requested_by_email=actor_label, check_run=run
        )
        audit(
            req,
            None,
            "domain.addition_requested",
            message=f"{held.display_name} asked to be added; its domain checks are queued.",
            actor_label=actor_label,
        )
        queue_addition_email(addition, "requested")
    return addition


def queue_addition_email(addition: DomainAddition, kind: str) -> None:
    """Email the requester, SPOC and signatory about the addition (once per kind)."""
    enqueue_after_commit(ADDITION_EMAIL_TASK, addition_id=addition.pk, kind=kind)


def lock_addition(addition_id: int) -> tuple[FederationRequest, DomainAddition]:
    """The addition's request, then the addition, row-locked (always in that order)."""
    request_id = (
        DomainAddition.objects.filter(pk=addition_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise ActionRefused("That domain addition does not exist.")
    req = lock_request(request_id)
    addition = (
        DomainAddition.objects.select_for_update().select_related("domain").get(pk=addition_id)
    )
    return req, addition


ADDITION_PHRASES = {
    "approve": "approved",
    "refuse": "refused",
    "complete": "added",
    "cancel": "cancelled",
    "expire": "expired",
}


def apply_addition_transition(
    req: FederationRequest,
    addition: DomainAddition,
    *,
    actor: User | None,
    action: str,
    audit_action: str,
    message: str,
    actor_label: str = "",
    **kwargs: object,
) -> DomainAddition:
    """Take one transition of a locked addition of a locked request, save and audit it.
    Approving and completing need the agreement in force (the request federated)."""
    if not can_proceed(getattr(addition, action)):
        raise ActionRefused(
            f"Adding {addition.domain.display_name} is now "
            f"“{addition.get_state_display().lower()}”, so it cannot be "
            f"{ADDITION_PHRASES[action]}. Reload the page to see where it stands."
        )
    if action in ("approve", "complete") and req.state != State.FEDERATED:
        raise ActionRefused(
            f"Request {req.reference} is {req.get_state_display().lower()}: a domain is added "
            "only while the agreement is in force."
        )
    getattr(addition, action)(**kwargs)
    try:
        addition.save()
    except ConcurrentTransition:  # pragma: no cover - the row lock serialises writers
        raise ActionRefused("The addition changed a moment ago. Reload the page.") from None
    audit(req, actor, audit_action, message=message, actor_label=actor_label)
    return addition


def _free(addition: DomainAddition) -> None:
    """The held domain is let go: no longer live, so it may be asked for afresh."""
    addition.domain.is_live = False
    addition.domain.save(update_fields=["is_live"])


# How an addition closes without its domain: (audit code, the email the organisation gets).
CLOSINGS = {
    "refuse": ("domain.addition_refused", "refused"),
    "cancel": ("domain.addition_cancelled", "cancelled"),
}


def _close(
    req: FederationRequest,
    addition: DomainAddition,
    *,
    action: str,
    reason: str,
    actor: User | None,
    actor_label: str = "",
    **kwargs: object,
) -> None:
    """Under both row locks: refuse or cancel the addition, audited with reason; the domain is
    let go and the organisation emailed."""
    audit_action, email = CLOSINGS[action]
    apply_addition_transition(
        req,
        addition,
        actor=actor,
        action=action,
        audit_action=audit_action,
        message=f"{addition.domain.display_name} is not added: {reason}",
        actor_label=actor_label,
        reason=reason,
        **kwargs,
    )
    _free(addition)
    queue_addition_email(addition, email)


def domain_addition_refuse(*, addition_id: int, actor: User, reason: str) -> DomainAddition:
    """The Feedback team refuses an asked-for domain, with the reason the organisation is
    emailed; the domain is let go."""
    ensure_may(actor, "refuse_domain_addition")
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Give the reason for refusing the domain; the organisation is told it.")
    with transaction.atomic():
        req, addition = lock_addition(addition_id)
        _close(req, addition, action="refuse", reason=reason, actor=actor, decider=actor)
    return addition


def domain_addition_cancel(*, addition_id: int, actor: User, reason: str) -> DomainAddition:
    """The Feedback team withdraws an approved addition (its amended agreement could not be
    prepared, or should not be signed after all), with the reason the organisation is
    emailed; the domain is let go and its amended agreement can no longer be signed."""
    ensure_may(actor, "refuse_domain_addition")
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Give the reason for cancelling; the organisation is told it.")
    with transaction.atomic():
        req, addition = lock_addition(addition_id)
        if addition.state == AdditionState.REQUESTED:
            raise ActionRefused(
                f"Adding {addition.domain.display_name} is not approved yet: refuse it instead."
            )
        _close(req, addition, action="cancel", reason=reason, actor=actor)
    return addition


def addition_checks_refusal(
    req: FederationRequest, addition: DomainAddition, *, override_reason: str = ""
) -> str:
    """Why the addition cannot be approved on its domain's checks (run since it was asked,
    recent, passing unless a reason is given), or ""; AnswerNeeded when only a reason is."""
    name = addition.domain.name
    # Checks from the run queued with the ask, or any run since.
    since = addition.check_run.requested_at if addition.check_run else addition.requested_at
    check = (
        DomainCheck.objects.filter(
            run__request=req,
            run__state=CheckRunState.COMPLETE,
            run__requested_at__gte=since,
            domain=name,
        )
        .select_related("run")
        .order_by("-run__completed_at", "-run__pk")
        .first()
    )
    shown = addition.domain.display_name
    if check is None:
        return f"The domain checks of {shown} have not completed yet. Approve once they have."
    completed = check.run.completed_at
    assert completed is not None  # a complete run
    if completed < timezone.now() - review_checks_max_age():
        return (
            f"The latest domain checks of {shown} completed {completed:%d %B %Y at %H:%M} UTC, "
            "too long ago. Run the checks again and approve once they complete."
        )
    if check.verdict in (CheckStatus.FAIL, CheckStatus.ERROR) and not override_reason.strip():
        found = "failed" if check.verdict == CheckStatus.FAIL else "could not be made"
        raise AnswerNeeded(
            f"The latest domain checks of {shown} {found}. Give the reason for approving it "
            "anyway, run the checks again, or refuse the domain."
        )
    return ""


def addition_complete(
    req: FederationRequest,
    addition: DomainAddition,
    *,
    actor: User | None,
    actor_label: str = "",
    message: str,
) -> DomainAddition:
    """Under both row locks, once the amended agreement is signed: the domain is covered by the
    agreement and joins the allow list from today."""
    today = timezone.localdate()
    apply_addition_transition(
        req,
        addition,
        actor=actor,
        action="complete",
        audit_action="domain.added",
        message=f"{addition.domain.display_name} on the allow list from {today:%d %B %Y}. "
        + message,
        actor_label=actor_label,
    )
    addition.domain.pending_addition = False
    addition.domain.save(update_fields=["pending_addition"])
    allow_list_add(names=[addition.domain.name], request=req, effective_date=today, actor=actor)
    queue_addition_email(addition, "added")
    return addition


def addition_expire_if_lapsed(
    req: FederationRequest, addition: DomainAddition, *, now: datetime | None = None
) -> bool:
    """Under both row locks: expire the addition if its amended agreement has lapsed (True)."""
    if not addition.agreement_lapsed(now):
        return False
    apply_addition_transition(
        req,
        addition,
        actor=None,
        action="expire",
        audit_action="domain.addition_expired",
        message=f"{addition.domain.display_name} is not added: the amended agreement was not "
        "signed in time.",
        actor_label=SYSTEM_LABEL,
    )
    _free(addition)
    queue_addition_email(addition, "expired")
    return True


def domain_additions_expire(*, now: datetime | None = None) -> int:
    """Beat, daily: expire additions whose amended agreement lapsed unsigned; how many."""
    expired = 0
    ids = DomainAddition.objects.filter(state=AdditionState.APPROVED).values_list("pk", flat=True)
    for addition_id in list(ids):
        with transaction.atomic():
            req, addition = lock_addition(addition_id)
            expired += addition_expire_if_lapsed(req, addition, now=now)
    return expired


def additions_cancel_open(
    req: FederationRequest,
    *,
    actor: User | None,
    why: str,
    only_approved: bool = False,
    actor_label: str = "",
) -> None:
    """Under req's row lock, as its agreement stops being in force (suspended, revoked,
    offboarded), or (only_approved) as the domains an amended agreement lists change: its open
    addition is cancelled, audited, emailed, and the domain let go."""
    states = [AdditionState.APPROVED]
    if not only_approved:
        states.append(AdditionState.REQUESTED)
    for addition in (
        DomainAddition.objects.select_for_update()
        .select_related("domain")
        .filter(request=req, state__in=states)
    ):
        _close(req, addition, action="cancel", reason=why, actor=actor, actor_label=actor_label)
