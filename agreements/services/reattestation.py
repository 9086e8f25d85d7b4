"""The annual re-attestation: the daily job opens it REATTESTATION_NOTICE_DAYS before the
agreement's term ends and reminds until it is answered; the SPOC confirms the contacts and
answers each DCB1596 criterion (a change comes with new evidence), the signatory confirms, and
the Feedback team verifies it (the term renews one term on) or returns it with a reason.

No answer by the end of the term lists the request for suspension (selectors.
reattestations_overdue); nothing here suspends: staff decide, with the suspend action.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import SYSTEM_LABEL, audit
from requests_app.models import ContactRole, FederationRequest, OutboxMessage, State
from requests_app.outbox import enqueue_after_commit
from requests_app.selectors import current_signatory
from requests_app.services.contacts import lock_request_for_contact
from requests_app.services.locking import lock_request

from .. import selectors
from ..models import (
    REATTESTATION_ACTIVE_STATES,
    CriterionAnswer,
    EvidenceCriterion,
    EvidenceStatus,
    Reattestation,
    ReattestationAnswer,
    ReattestationStatus,
)
from .evidence import CheckedEvidence, evidence_check_upload, evidence_record

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

REATTESTATION_EMAIL_TASK = "agreements.tasks.reattestation_email"


def queue_reattestation_email(reattestation: Reattestation, kind: str, *, key: str) -> None:
    """Queue the re-attestation email of kind (notice, reminder, returned, renewed) after
    commit, through the outbox; key names it once (agreements.emails sends each key once)."""
    enqueue_after_commit(
        REATTESTATION_EMAIL_TASK, reattestation_id=reattestation.pk, kind=kind, key=key
    )


def _lock(reattestation_id: int) -> tuple[FederationRequest, Reattestation]:
    """The request, then its re-attestation, row-locked in that order (as every service locks
    the request first)."""
    request_id = (
        Reattestation.objects.filter(pk=reattestation_id)
        .values_list("request_id", flat=True)
        .first()
    )
    if request_id is None:
        raise ActionRefused("That re-attestation does not exist.")
    req = lock_request(request_id)
    return req, Reattestation.objects.select_for_update().get(pk=reattestation_id)


# -- the daily job ----------------------------------------------------------------------------


def reattestation_open(*, request_id: int, today: date | None = None) -> Reattestation | None:
    """Open the current term's re-attestation and email the SPOC and signatory, if the request
    is federated and the notice date has come; judged again under the lock. None if not due or
    already open (running twice opens one)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        req = lock_request(request_id)
        if req.state != State.FEDERATED or selectors.open_reattestation(req) is not None:
            return None
        term_end = selectors.current_term_end(req)
        if term_end is None or selectors.reattestation_notice_date(term_end) > today:
            return None
        if Reattestation.objects.filter(request=req, term_ends_on=term_end).exists():
            return None  # this term's was verified already
        try:
            with transaction.atomic():
                reattestation: Reattestation = Reattestation.objects.create(
                    request=req, term_ends_on=term_end
                )
        except IntegrityError:  # the constraints: another run opened it a moment ago
            return None
        audit(
            req,
            None,
            "reattestation.opened",
            message=f"The agreement's term ends on {term_end:%d %B %Y}; the SPOC and "
            "signatory are asked to re-attest.",
            actor_label=SYSTEM_LABEL,
        )
        queue_reattestation_email(
            reattestation, "notice", key=f"reattestation:{reattestation.pk}:notice"
        )
    return reattestation


def reattestation_remind(*, reattestation_id: int, now: datetime | None = None) -> bool:
    """Queue this period's reminder (every REATTESTATION_REMINDER_DAYS since the notice) while
    the organisation's answer is awaited and the request is federated; once per period."""
    now = now or timezone.now()
    with transaction.atomic():
        req, reattestation = _lock(reattestation_id)
        if req.state != State.FEDERATED or reattestation.status not in (
            selectors.AWAITING_ORGANISATION
        ):
            return False
        period = (now - reattestation.opened_at).days // settings.REATTESTATION_REMINDER_DAYS
        if period < 1:
            return False  # the notice itself was period 0
        key = f"reattestation:{reattestation.pk}:reminder:{period}"
        queued = OutboxMessage.objects.filter(
            task_name=REATTESTATION_EMAIL_TASK, kwargs__key=key
        ).exists()
        if queued:  # outbox rows stay after they are sent: a lasting record
            return False
        queue_reattestation_email(reattestation, "reminder", key=key)
        audit(
            req,
            None,
            "reminder.reattestation",
            message=f"Reminder {period} queued: {reattestation.get_status_display()}.",
            actor_label=SYSTEM_LABEL,
        )
    return True


def reattestation_mark_overdue(*, reattestation_id: int, today: date | None = None) -> bool:
    """Record that the term ended without the organisation's answer (once); the request then
    shows on the "for suspension" list for staff to decide."""
    today = today or timezone.localdate()
    with transaction.atomic():
        req, reattestation = _lock(reattestation_id)
        if (
            req.state != State.FEDERATED
            or reattestation.status not in selectors.AWAITING_ORGANISATION
            or reattestation.term_ends_on > today
            or reattestation.overdue_at is not None
        ):
            return False
        reattestation.overdue_at = timezone.now()
        reattestation.save(update_fields=["overdue_at"])
        audit(
            req,
            None,
            "reattestation.overdue",
            message=f"The term ended on {reattestation.term_ends_on:%d %B %Y} without the "
            f"organisation's answer ({reattestation.get_status_display().lower()}); listed for "
            "the Feedback team to decide on suspension.",
            actor_label=SYSTEM_LABEL,
        )
    return True


def reattestation_daily(now: datetime | None = None) -> dict[str, int]:
    """Beat, daily: open what is due, mark what is overdue, remind. Counts for the log."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    opened = sum(
        reattestation_open(request_id=request_id, today=today) is not None
        for request_id in selectors.reattestations_due_to_open(today)
    )
    overdue = sum(
        reattestation_mark_overdue(reattestation_id=pk, today=today)
        for pk in selectors.reattestations_overdue(today)
        .filter(overdue_at__isnull=True)
        .values_list("pk", flat=True)
    )
    awaiting = Reattestation.objects.filter(
        status__in=selectors.AWAITING_ORGANISATION, request__state=State.FEDERATED
    ).values_list("pk", flat=True)
    reminders = sum(reattestation_remind(reattestation_id=pk, now=now) for pk in awaiting)
    return {"opened": opened, "overdue": overdue, "reminders": reminders}


# -- the organisation's answer ----------------------------------------------------------------


def _lock_for_contact(
    reattestation_id: int, *, actor_email: str
) -> tuple[FederationRequest, Reattestation, set[str]]:
    request_id = (
        Reattestation.objects.filter(pk=reattestation_id)
        .values_list("request_id", flat=True)
        .first()
    )
    if request_id is None:
        raise ActionRefused("That re-attestation does not exist.")
    req, roles = lock_request_for_contact(request_id, actor_email=actor_email)
    reattestation = Reattestation.objects.select_for_update().get(pk=reattestation_id)
    if req.state not in REATTESTATION_ACTIVE_STATES:
        raise ActionRefused(
            f"Request {req.reference} is {req.get_state_display().lower()}, so its agreement "
            "is no longer re-attested."
        )
    return req, reattestation, roles


def reattestation_answer(
    *,
    reattestation_id: int,
    actor_email: str,
    contacts_confirmed: bool,
    answers: Mapping[int, str],
    uploads: Mapping[int, UploadedFile] | None = None,
) -> Reattestation:
    """The SPOC confirms the contacts are current and answers each criterion: still met, or
    changed with new evidence (checked as any evidence upload, then awaiting staff review).

    An answer after the term has ended is still taken: it is what the re-attestation asks for,
    nothing is suspended automatically, and the overdue mark stays in the audit log; the
    request leaves the "for suspension" list once the signatory confirms.
    """
    uploads = uploads or {}
    if not contacts_confirmed:
        raise ActionRefused("Confirm the request's contacts are current, or change them first.")
    criteria = {criterion.pk: criterion for criterion in EvidenceCriterion.objects.all()}
    unknown = set(answers) - set(criteria)
    if unknown or any(value not in CriterionAnswer.values for value in answers.values()):
        raise ActionRefused("Answer each criterion: still met, or changed.")
    unanswered = [c.title for pk, c in criteria.items() if c.required and pk not in answers]
    if unanswered:
        raise ActionRefused(f"Answer each criterion; not answered: {', '.join(unanswered)}.")
    # Read and judge every file before the row lock: parsing may take seconds.
    checked: dict[int, CheckedEvidence] = {}
    for criterion_id, value in answers.items():
        if value != CriterionAnswer.CHANGED:
            continue
        upload = uploads.get(criterion_id)
        if upload is None:
            raise ActionRefused(
                f"Upload the new evidence for “{criteria[criterion_id].title}”, which has changed."
            )
        checked[criterion_id] = evidence_check_upload(criterion_id=criterion_id, upload=upload)
    with transaction.atomic():
        req, reattestation, roles = _lock_for_contact(reattestation_id, actor_email=actor_email)
        if ContactRole.SPOC not in roles:
            raise ActionRefused("Only the request's SPOC can answer the re-attestation.")
        if reattestation.status != ReattestationStatus.OPEN:
            raise ActionRefused(
                f"This re-attestation is answered already: "
                f"{reattestation.get_status_display().lower()}."
            )
        now = timezone.now()
        reattestation.answers.exclude(criterion_id__in=list(answers)).delete()
        for criterion_id, value in answers.items():
            item = None
            if criterion_id in checked:
                item = evidence_record(req, checked[criterion_id], actor_email=actor_email)
            ReattestationAnswer.objects.update_or_create(
                reattestation=reattestation,
                criterion_id=criterion_id,
                defaults={"answer": value, "evidence": item, "answered_at": now},
            )
        reattestation.status = ReattestationStatus.ANSWERED
        reattestation.contacts_confirmed_at = now
        reattestation.answered_at = now
        reattestation.answered_by_email = actor_email
        reattestation.save()
        changed = ", ".join(criteria[pk].title for pk in checked) or "none"
        still_met = sum(value == CriterionAnswer.STILL_MET for value in answers.values())
        late = reattestation.term_ends_on <= timezone.localdate(now)
        audit(
            req,
            None,
            "reattestation.answered",
            message=f"Contacts confirmed current. Criteria still met: {still_met}. Changed, "
            f"with new evidence: {changed}." + (" After the term ended." if late else ""),
            actor_label=actor_email,
        )
    return reattestation


def reattestation_confirm(
    *, reattestation_id: int, actor_email: str, confirmed: bool
) -> Reattestation:
    """The request's current signatory confirms the SPOC's answer; the Feedback team then
    verifies it."""
    if not confirmed:
        raise ActionRefused("Tick the box to confirm, as signatory, what the SPOC answered.")
    with transaction.atomic():
        req, reattestation, roles = _lock_for_contact(reattestation_id, actor_email=actor_email)
        if ContactRole.SIGNATORY not in roles:
            raise ActionRefused("Only the request's signatory can confirm the re-attestation.")
        if reattestation.status != ReattestationStatus.ANSWERED:
            raise ActionRefused(
                "There is no answer waiting for your confirmation: "
                f"{reattestation.get_status_display().lower()}."
            )
        signatory = current_signatory(req)
        assert signatory is not None  # the roles say the actor is the signatory
        reattestation.status = ReattestationStatus.CONFIRMED
        reattestation.signatory_confirmed_at = timezone.now()
        reattestation.signatory_email = signatory.email
        reattestation.signatory_name = signatory.name
        reattestation.save()
        audit(
            req,
            None,
            "reattestation.confirmed",
            message=f"Confirmed by the signatory, {signatory.name} ({signatory.job_title}).",
            actor_label=actor_email,
        )
    return reattestation


# -- staff ------------------------------------------------------------------------------------


def reattestation_verify(*, reattestation_id: int, actor: User) -> Reattestation:
    """Staff verify the confirmed answer, once any new evidence is verified: the term renews,
    one term on from the end of the one attested (however late it is verified)."""
    with transaction.atomic():
        ensure_may(actor, "verify_reattestation")
        req, reattestation = _lock(reattestation_id)
        if req.state not in REATTESTATION_ACTIVE_STATES:
            raise ActionRefused(
                f"Request {req.reference} is {req.get_state_display().lower()}; its agreement "
                "is not renewed."
            )
        if reattestation.status != ReattestationStatus.CONFIRMED:
            raise ActionRefused(
                "Only a re-attestation the signatory has confirmed can be verified; this one "
                f"is “{reattestation.get_status_display()}”."
            )
        unverified = [
            answer.criterion.title
            for answer in reattestation.answers.select_related("criterion", "evidence")
            if answer.evidence is not None and answer.evidence.status != EvidenceStatus.VERIFIED
        ]
        if unverified:
            raise ActionRefused(
                f"Verify the new evidence first (on the request's page): {', '.join(unverified)}."
            )
        renewed_until = selectors.add_months(
            reattestation.term_ends_on, settings.AGREEMENT_TERM_MONTHS
        )
        reattestation.status = ReattestationStatus.VERIFIED
        reattestation.verified_at = timezone.now()
        reattestation.verified_by = actor
        reattestation.renewed_until = renewed_until
        reattestation.save()
        audit(
            req,
            actor,
            "reattestation.verified",
            message=f"Re-attestation verified; the term that ended on "
            f"{reattestation.term_ends_on:%d %B %Y} is renewed until {renewed_until:%d %B %Y}.",
        )
        queue_reattestation_email(
            reattestation, "renewed", key=f"reattestation:{reattestation.pk}:renewed"
        )
    return reattestation


def reattestation_return(*, reattestation_id: int, actor: User, reason: str) -> Reattestation:
    """Staff send the answer back with a reason: the SPOC answers again (and the signatory
    confirms again)."""
    if not reason.strip():
        raise ActionRefused("Say what needs more work; the organisation sees it.")
    with transaction.atomic():
        ensure_may(actor, "verify_reattestation")
        req, reattestation = _lock(reattestation_id)
        if reattestation.status not in (
            ReattestationStatus.ANSWERED,
            ReattestationStatus.CONFIRMED,
        ):
            raise ActionRefused(
                "Only an answered re-attestation can be returned; this one is "
                f"“{reattestation.get_status_display()}”."
            )
        now = timezone.now()
        reattestation.status = ReattestationStatus.OPEN
        reattestation.returned_at = now
        reattestation.returned_reason = reason.strip()
        reattestation.answered_at = None
        reattestation.contacts_confirmed_at = None
        reattestation.signatory_confirmed_at = None
        reattestation.save()
        audit(req, actor, "reattestation.returned", message=reason.strip())
        # One email per return: the key names when.
        queue_reattestation_email(
            reattestation,
            "returned",
            key=f"reattestation:{reattestation.pk}:returned:{now:%Y%m%d%H%M%S%f}",
        )
    return reattestation
