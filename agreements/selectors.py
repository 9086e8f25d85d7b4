"""Reads about agreements and evidence, shared by guards, services, emails and faces."""

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from requests_app.models import FederationRequest, State

from .models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus


def current_agreement(req: FederationRequest) -> Agreement | None:
    """The latest agreement issued for the request, or None."""
    return Agreement.objects.filter(request=req).order_by("-pk").first()


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
