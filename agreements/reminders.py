"""Reminders and expiry (beat, daily): the SPOC and signatory are reminded of an unsigned FPA
and of missing or returned evidence; an FPA unsigned for FPA_EXPIRY_DAYS expires and the request
goes back to "reviewed" for a fresh one. Staff find the overdue requests with the admin filter."""

from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from requests_app.audit import audit
from requests_app.models import FederationRequest, OutboxMessage, State
from requests_app.outbox import enqueue_after_commit
from requests_app.services import SEND_EMAIL_TASK, lock_request

from .models import EvidenceCriterion, EvidenceStatus


def unsigned_overdue(now=None) -> QuerySet[FederationRequest]:
    """Requests whose FPA has waited for a signature longer than FPA_REMINDER_DAYS."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.FPA_REMINDER_DAYS)
    return FederationRequest.objects.filter(state=State.FPA_SENT, fpa_sent_at__lte=cutoff)


def evidence_overdue(now=None) -> QuerySet[FederationRequest]:
    """Signed requests still short of evidence longer than EVIDENCE_REMINDER_DAYS after signing."""
    now = now or timezone.now()
    cutoff = now - timedelta(days=settings.EVIDENCE_REMINDER_DAYS)
    return FederationRequest.objects.filter(state=State.SIGNED, signed_at__lte=cutoff)


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


def _remind(req: FederationRequest, kind: str, since, days: int, now) -> bool:
    """Queue the reminder for this period of days (once: the key names the period)."""
    period = (now - since).days // days
    key = f"{kind}:{since:%Y%m%d}:{period}"
    queued = OutboxMessage.objects.filter(
        task_name=SEND_EMAIL_TASK, kwargs__request_id=req.pk, kwargs__key=key
    )
    if queued.exists():  # outbox rows stay after they are sent: a lasting record
        return False
    with transaction.atomic():
        enqueue_after_commit(SEND_EMAIL_TASK, request_id=req.pk, kind=kind, key=key)
        audit(req, None, f"reminder.{kind}", message=f"Reminder {period} queued.")
    return True


def agreement_expire(*, request_id: int) -> FederationRequest:
    """The FPA has been unsigned too long: mark it expired, the request returns to reviewed."""
    with transaction.atomic():
        req = lock_request(request_id)
        if req.state != State.FPA_SENT:
            return req
        agreement = req.current_agreement
        agreement.expired_at = timezone.now()
        agreement.save(update_fields=["expired_at"])
        req.expire_agreement()
        req.save()
        audit(
            req,
            None,
            "request.agreement_expired",
            message=f"Unsigned after {settings.FPA_EXPIRY_DAYS} days; a fresh agreement is needed.",
            from_state=State.FPA_SENT,
            to_state=State.REVIEWED,
        )
        enqueue_after_commit(
            SEND_EMAIL_TASK,
            request_id=req.pk,
            kind="agreement_expired",
            key=f"agreement_expired:{agreement.pk}",
        )
    return req


def agreement_reminders(now=None) -> dict[str, int]:
    """Beat, daily: expire, then remind. The counts of each, for the worker's log."""
    now = now or timezone.now()
    expiry = now - timedelta(days=settings.FPA_EXPIRY_DAYS)
    expired = list(
        FederationRequest.objects.filter(state=State.FPA_SENT, fpa_sent_at__lte=expiry).values_list(
            "pk", flat=True
        )
    )
    for request_id in expired:
        agreement_expire(request_id=request_id)
    unsigned = sum(
        _remind(req, "fpa_reminder", req.fpa_sent_at, settings.FPA_REMINDER_DAYS, now)
        for req in unsigned_overdue(now)
    )
    evidence = sum(
        _remind(req, "evidence_reminder", req.signed_at, settings.EVIDENCE_REMINDER_DAYS, now)
        for req in evidence_overdue(now)
        if evidence_awaited(req)
    )
    return {"expired": len(expired), "fpa_reminders": unsigned, "evidence_reminders": evidence}
