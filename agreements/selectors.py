"""Reads about agreements and evidence, shared by guards, services, emails and faces."""

from calendar import monthrange
from datetime import date, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Max, Min, QuerySet
from django.utils import timezone

from requests_app.models import AdditionState, AllowListSource, FederationRequest, State

from .models import (
    OPEN_REATTESTATION_STATUSES,
    Agreement,
    EvidenceCriterion,
    EvidenceItem,
    EvidenceStatus,
    Reattestation,
    ReattestationStatus,
)


def current_agreement(req: FederationRequest) -> Agreement | None:
    """The latest agreement issued for the request, or None. An amended agreement (adding a
    domain after federation) counts once it is signed: until then the one before stands."""
    return (
        Agreement.objects.filter(request=req)
        .exclude(domain_addition__isnull=False, received_at__isnull=True)
        .order_by("-pk")
        .first()
    )


def amendment_out_for_signature(req: FederationRequest) -> Agreement | None:
    """The amended agreement sent for the request's open domain addition and not yet signed
    (lapsed or not: callers judge the date), or None."""
    found: Agreement | None = (
        Agreement.objects.select_related("domain_addition__domain")
        .filter(
            request=req,
            domain_addition__state=AdditionState.APPROVED,
            sent_at__isnull=False,
            received_at__isnull=True,
        )
        .order_by("-pk")
        .first()
    )
    return found


def sent_agreement(req: FederationRequest) -> Agreement | None:
    """The current agreement once it has been sent to the organisation, else None."""
    agreement = current_agreement(req)
    return agreement if agreement and agreement.sent_at else None


def missing_evidence(req: FederationRequest) -> list[str]:
    """Titles of required DCB1596 criteria without a verified evidence item."""
    verified = req.evidence_items.filter(status=EvidenceStatus.VERIFIED).values("criterion_id")
    return list(
        EvidenceCriterion.objects.filter(required=True)
        .exclude(pk__in=verified)
        .order_by("position")
        .values_list("title", flat=True)
    )


def evidence_awaited(req: FederationRequest) -> list[str]:
    """Required criteria the organisation still owes: nothing sent, or only returned items."""
    sent = req.evidence_items.filter(
        status__in=(EvidenceStatus.PENDING, EvidenceStatus.VERIFIED)
    ).values("criterion_id")
    return list(
        EvidenceCriterion.objects.filter(required=True)
        .exclude(pk__in=sent)
        .order_by("position")
        .values_list("title", flat=True)
    )


def returned_evidence(req: FederationRequest) -> QuerySet[EvidenceItem]:
    """Returned items not since replaced by a newer upload for the same criterion."""
    items = req.evidence_items
    replaced = items.exclude(status=EvidenceStatus.RETURNED).values("criterion")
    return (
        items.filter(status=EvidenceStatus.RETURNED)
        .exclude(criterion__in=replaced)
        .select_related("criterion")
    )


def unsigned_overdue(now: datetime | None = None) -> QuerySet[FederationRequest]:
    """Requests whose FPA has waited for a signature longer than FPA_REMINDER_DAYS."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FPA_REMINDER_DAYS)
    requests: QuerySet[FederationRequest] = FederationRequest.objects.filter(
        state=State.FPA_SENT, fpa_sent_at__lte=cutoff
    )
    return requests


def amendments_unsigned_overdue(now: datetime | None = None) -> QuerySet[Agreement]:
    """Amended agreements (adding a domain) waiting for a signature longer than
    FPA_REMINDER_DAYS, lapsed or not (callers judge the expiry)."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.FPA_REMINDER_DAYS)
    amendments: QuerySet[Agreement] = Agreement.objects.select_related(
        "request", "domain_addition__domain"
    ).filter(
        domain_addition__state=AdditionState.APPROVED,
        domain_addition__agreement_sent_at__lte=cutoff,
        received_at__isnull=True,
    )
    return amendments


def evidence_overdue(now: datetime | None = None) -> QuerySet[FederationRequest]:
    """Signed requests still short of evidence longer than EVIDENCE_REMINDER_DAYS after signing."""
    cutoff = (now or timezone.now()) - timedelta(days=settings.EVIDENCE_REMINDER_DAYS)
    requests: QuerySet[FederationRequest] = FederationRequest.objects.filter(
        state=State.SIGNED, signed_at__lte=cutoff
    )
    return requests


def agreement_expiry_cutoff(now: datetime | None = None) -> datetime:
    """An FPA sent before this and still unsigned has expired (FPA_EXPIRY_DAYS)."""
    return (now or timezone.now()) - timedelta(days=settings.FPA_EXPIRY_DAYS)


def agreement_lapsed(req: FederationRequest, now: datetime | None = None) -> bool:
    """The FPA out for signature is older than FPA_EXPIRY_DAYS: expired now, whether or not the
    daily job (reminders.agreement_expire) has marked it yet. Every action on it asks this."""
    return (
        req.state == State.FPA_SENT
        and req.fpa_sent_at is not None
        and req.fpa_sent_at <= agreement_expiry_cutoff(now)
    )


def lapsed_refusal(req: FederationRequest) -> str:
    """What a person is told when an action waits on an agreement that has lapsed, or ""."""
    if not agreement_lapsed(req):
        return ""
    return (
        f"The agreement for {req.reference} has expired: it was not signed within "
        f"{settings.FPA_EXPIRY_DAYS} days. The NHSmail Feedback team will send a fresh one."
    )


def evidence_by_criterion(req: FederationRequest) -> list[dict[str, Any]]:
    """Each DCB1596 criterion with the state of the organisation's newest evidence for it."""
    newest: dict[int, EvidenceItem] = {}
    for upload in req.evidence_items.select_related("criterion").order_by("uploaded_at", "pk"):
        newest[upload.criterion_id] = upload
    rows: list[dict[str, Any]] = []
    for criterion in EvidenceCriterion.objects.order_by("position"):
        item = newest.get(criterion.pk)
        returned_reason = ""
        if item is not None and item.status == EvidenceStatus.RETURNED:
            returned_reason = item.returned_reason
        rows.append(
            {
                "criterion": criterion,
                "status": item.get_status_display() if item else "Not received",
                "returned_reason": returned_reason,
                "item": item,
                # A file already sent (awaiting review, or returned) is replaced, not added to.
                "action": "Replace" if item is not None else "Upload",
            }
        )
    return rows


def agreement_in_preparation(req: FederationRequest) -> bool:
    """An agreement for req is being rendered now (one at a time)."""
    return Agreement.objects.filter(request=req).in_preparation().exists()


# -- the annual re-attestation ----------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """The same day months later, or the month's last day where it has fewer (31 Jan + 1 month
    is 28 or 29 February)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(year=year, month=month, day=min(day.day, monthrange(year, month)[1]))


def term_start(req: FederationRequest) -> date | None:
    """The day the agreement's first term began: the federation's effective date, as the first
    allow-list entry of the request records it (a reinstatement after a suspension gives the
    request a new effective date but does not restart the agreement's term)."""
    first: date | None = req.allow_list_entries.filter(source=AllowListSource.PORTAL).aggregate(
        first=Min("effective_date")
    )["first"]
    if first is not None:
        return first
    if req.effective_date is not None:
        return req.effective_date
    return timezone.localdate(req.federated_at) if req.federated_at else None


def current_term_end(req: FederationRequest) -> date | None:
    """The day the agreement's current term ends: AGREEMENT_TERM_MONTHS after it began, or the
    latest renewal's end; None for a request never federated."""
    renewed: date | None = Reattestation.objects.filter(
        request=req, status=ReattestationStatus.VERIFIED
    ).aggregate(until=Max("renewed_until"))["until"]
    if renewed is not None:
        return renewed
    start = term_start(req)
    return add_months(start, settings.AGREEMENT_TERM_MONTHS) if start else None


def reattestation_notice_date(term_end: date) -> date:
    """The day a term's re-attestation opens: REATTESTATION_NOTICE_DAYS before it ends."""
    return term_end - timedelta(days=settings.REATTESTATION_NOTICE_DAYS)


def open_reattestation(req: FederationRequest) -> Reattestation | None:
    """The request's re-attestation not yet verified, or None."""
    found: Reattestation | None = Reattestation.objects.filter(
        request=req, status__in=OPEN_REATTESTATION_STATUSES
    ).first()
    return found


def latest_reattestation(req: FederationRequest) -> Reattestation | None:
    """The open re-attestation, else the newest one (verified), else None."""
    found: Reattestation | None = (
        Reattestation.objects.filter(request=req).order_by("-term_ends_on", "-pk").first()
    )
    return found


def reattestations_due_to_open(today: date | None = None) -> list[int]:
    """Ids of federated requests whose term's re-attestation should be open by today and is
    not (the job judges each again under its lock)."""
    today = today or timezone.localdate()
    waiting = FederationRequest.objects.filter(state=State.FEDERATED).exclude(
        reattestations__status__in=OPEN_REATTESTATION_STATUSES
    )
    due = []
    for req in waiting.order_by("pk"):
        term_end = current_term_end(req)
        if term_end is not None and reattestation_notice_date(term_end) <= today:
            due.append(req.pk)
    return due


# Waiting on the organisation: the SPOC's answer or the signatory's confirmation.
AWAITING_ORGANISATION = (ReattestationStatus.OPEN, ReattestationStatus.ANSWERED)


def reattestations_due(today: date | None = None) -> QuerySet[Reattestation]:
    """Open and not yet answered (the SPOC's answer or the signatory's confirmation is awaited),
    with the term still running."""
    today = today or timezone.localdate()
    found: QuerySet[Reattestation] = Reattestation.objects.filter(
        status__in=AWAITING_ORGANISATION,
        request__state=State.FEDERATED,
        term_ends_on__gt=today,
    ).select_related("request__organisation")
    return found


def reattestations_answered() -> QuerySet[Reattestation]:
    """Answered and confirmed by the signatory: waiting for the Feedback team to verify."""
    found: QuerySet[Reattestation] = Reattestation.objects.filter(
        status=ReattestationStatus.CONFIRMED
    ).select_related("request__organisation")
    return found


def reattestations_overdue(today: date | None = None) -> QuerySet[Reattestation]:
    """The "for suspension" list: federated requests whose term has ended without the
    organisation's answer. Judged by the date, not by the job's mark, so a job that has not run
    yet hides nothing; staff decide whether to suspend."""
    today = today or timezone.localdate()
    found: QuerySet[Reattestation] = Reattestation.objects.filter(
        status__in=AWAITING_ORGANISATION,
        request__state=State.FEDERATED,
        term_ends_on__lte=today,
    ).select_related("request__organisation")
    return found


def reattestation_answers(reattestation: Reattestation) -> list[dict[str, Any]]:
    """Each DCB1596 criterion with the SPOC's answer for it (None while unanswered)."""
    given = {
        answer.criterion_id: answer
        for answer in reattestation.answers.select_related("evidence", "criterion")
    }
    return [
        {"criterion": criterion, "answer": given.get(criterion.pk)}
        for criterion in EvidenceCriterion.objects.order_by("position", "code")
    ]
