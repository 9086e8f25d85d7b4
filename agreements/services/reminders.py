"""Reminders and expiry (beat, daily): the SPOC and signatory are reminded of an unsigned FPA
(or an unsigned amendment adding a domain) and of missing or returned evidence; an FPA unsigned
for FPA_EXPIRY_DAYS expires and the request goes back to "reviewed" for a fresh one. Staff find
the overdue requests with the admin filter."""

from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requests_app.audit import SYSTEM_LABEL, audit
from requests_app.models import FederationRequest, OutboxMessage, State
from requests_app.outbox import enqueue_after_commit
from requests_app.services.locking import apply_transition, lock_request

from .. import selectors
from ..models import Agreement
from .amendments import AMENDMENT_EMAIL_TASK
from .notices import REQUEST_EMAIL_TASK, queue_agreement_email


def _remind(
    req: FederationRequest, *, kind: str, since: datetime, days: int, now: datetime
) -> bool:
    """Queue the reminder for this period of days (once: the key names the period)."""
    period = (now - since).days // days
    key = f"{kind}:{since:%Y%m%d}:{period}"
    queued = OutboxMessage.objects.filter(
        task_name=REQUEST_EMAIL_TASK, kwargs__request_id=req.pk, kwargs__key=key
    )
    if queued.exists():  # outbox rows stay after they are sent: a lasting record
        return False
    with transaction.atomic():
        queue_agreement_email(req, kind, key=key)
        audit(req, None, f"reminder.{kind}", message=f"Reminder {period} queued.")
    return True


def agreement_expire(*, request_id: int, now: datetime | None = None) -> FederationRequest:
    """The FPA has been unsigned too long: mark it expired, the request returns to reviewed.

    Judged again under the lock: an agreement sent afresh since the job looked stays.
    """
    with transaction.atomic():
        req = lock_request(request_id)
        expire_if_lapsed(req, now=now)
    return req


def expire_if_lapsed(req: FederationRequest, *, now: datetime | None = None) -> bool:
    """Under req's row lock: expire its FPA if it has lapsed (True), else leave it (False).

    The daily job calls it, and so does any action that finds a lapsed FPA not yet marked
    (staff sending a fresh one need not wait for the job).
    """
    agreement = selectors.current_agreement(req)
    if agreement is None or not selectors.agreement_lapsed(req, now):
        return False
    agreement.expired_at = timezone.now()
    agreement.save(update_fields=["expired_at"])
    apply_transition(
        req,
        actor=None,
        action="expire_agreement",
        audit_action="request.agreement_expired",
        actor_label=SYSTEM_LABEL,
        message=f"Unsigned after {settings.FPA_EXPIRY_DAYS} days; a fresh agreement is needed.",
    )
    queue_agreement_email(req, "agreement_expired", key=f"agreement_expired:{agreement.pk}")
    return True


def agreement_reminders(now: datetime | None = None) -> dict[str, int]:
    """Beat, daily: expire, then remind. The counts of each, for the worker's log."""
    now = now or timezone.now()
    cutoff = selectors.agreement_expiry_cutoff(now)
    expired = list(
        FederationRequest.objects.filter(state=State.FPA_SENT, fpa_sent_at__lte=cutoff).values_list(
            "pk", flat=True
        )
    )
    for request_id in expired:
        agreement_expire(request_id=request_id, now=now)
    unsigned = 0
    for req in selectors.unsigned_overdue(now):
        assert req.fpa_sent_at is not None  # the selector matches fpa_sent_at__lte
        if selectors.agreement_lapsed(req, now):
            continue  # expired, even if expiring it above failed: no reminder to sign it
        unsigned += _remind(
            req,
            kind="fpa_reminder",
            since=req.fpa_sent_at,
            days=settings.FPA_REMINDER_DAYS,
            now=now,
        )
    evidence = 0
    for req in selectors.evidence_overdue(now):
        if not selectors.evidence_awaited(req):
            continue
        assert req.signed_at is not None  # the selector matches signed_at__lte
        evidence += _remind(
            req,
            kind="evidence_reminder",
            since=req.signed_at,
            days=settings.EVIDENCE_REMINDER_DAYS,
            now=now,
        )
    amendments = sum(
        _remind_amendment(agreement, now=now)
        for agreement in selectors.amendments_unsigned_overdue(now)
    )
    return {
        "expired": len(expired),
        "fpa_reminders": unsigned,
        "evidence_reminders": evidence,
        "amendment_reminders": amendments,
    }


def _remind_amendment(agreement: Agreement, *, now: datetime) -> bool:
    """Queue the reminder to sign an amended agreement for this period of FPA_REMINDER_DAYS
    (once per period), unless it has lapsed: the daily expiry of additions ends it."""
    addition = agreement.domain_addition
    assert addition is not None and addition.agreement_sent_at is not None  # the selector's
    if addition.agreement_lapsed(now):
        return False
    period = (now - addition.agreement_sent_at).days // settings.FPA_REMINDER_DAYS
    queued = OutboxMessage.objects.filter(
        task_name=AMENDMENT_EMAIL_TASK,
        kwargs__agreement_id=agreement.pk,
        kwargs__reminder=period,
    )
    if queued.exists():  # outbox rows stay after they are sent: a lasting record
        return False
    with transaction.atomic():
        enqueue_after_commit(AMENDMENT_EMAIL_TASK, agreement_id=agreement.pk, reminder=period)
        audit(
            agreement.request,
            None,
            "reminder.amendment",
            message=f"Reminder {period} to sign the amendment adding {addition.domain.name}.",
        )
    return True
