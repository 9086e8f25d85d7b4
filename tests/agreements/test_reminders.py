"""Reminders of an unsigned FPA and of missing evidence, and expiry, with time moved on."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.utils import timezone

from agreements import tasks
from agreements.guards import agreement_rendered
from agreements.models import EvidenceCriterion
from agreements.selectors import current_agreement
from agreements.services import reminders
from agreements.services.notices import REQUEST_EMAIL_TASK
from agreements.tasks import agreement_request_email
from federation_portal.celery import app
from requests_app.models import AuditEvent, FederationRequest, OutboxMessage, State
from tests.factories import EvidenceItemFactory, request_in

pytestmark = pytest.mark.django_db


def queued(kind: str) -> list[dict]:
    rows = OutboxMessage.objects.filter(task_name=REQUEST_EMAIL_TASK).order_by("pk")
    return [row.kwargs for row in rows if row.kwargs["kind"] == kind]


def sent_now(req):
    FederationRequest.objects.filter(pk=req.pk).update(fpa_sent_at=timezone.now())
    return req


def days_later(days: float):
    return time_machine.travel(timezone.now() + timedelta(days=days), tick=False)


def test_an_unsigned_agreement_is_reminded_once_per_period(feedback_user, mailoutbox):
    req = sent_now(request_in(State.FPA_SENT, feedback_user))

    with days_later(6):
        assert reminders.agreement_reminders()["fpa_reminders"] == 0
    with days_later(8):
        assert reminders.agreement_reminders()["fpa_reminders"] == 1
        assert reminders.agreement_reminders()["fpa_reminders"] == 0  # the next day's run
    with days_later(15):
        assert reminders.agreement_reminders()["fpa_reminders"] == 1  # the second period

    assert [job["request_id"] for job in queued("fpa_reminder")] == [req.pk, req.pk]
    agreement_request_email(**queued("fpa_reminder")[0])
    (message,) = mailoutbox
    assert "waiting to be signed" in message.subject
    assert "expires" in message.body


def test_missing_or_returned_evidence_is_reminded_and_sent_evidence_is_not(feedback_user):
    waiting = request_in(State.SIGNED, feedback_user)
    waiting.evidence_items.all().delete()
    criterion = EvidenceCriterion.objects.filter(required=True).first()
    EvidenceItemFactory(
        request=waiting, criterion=criterion, status="returned", returned_reason="Blurred."
    )
    all_sent = request_in(State.SIGNED, feedback_user)  # every required item verified
    for req in (waiting, all_sent):
        FederationRequest.objects.filter(pk=req.pk).update(signed_at=timezone.now())

    with days_later(8):
        counts = reminders.agreement_reminders()

    assert counts["evidence_reminders"] == 1
    assert [job["request_id"] for job in queued("evidence_reminder")] == [waiting.pk]


def test_an_agreement_unsigned_too_long_expires_and_the_request_needs_a_fresh_one(
    feedback_user,
):
    req = sent_now(request_in(State.FPA_SENT, feedback_user))

    with days_later(settings.FPA_EXPIRY_DAYS + 1):
        counts = reminders.agreement_reminders()

    assert counts["expired"] == 1
    req.refresh_from_db()
    assert req.state == State.REVIEWED
    assert current_agreement(req).expired_at is not None
    # send_agreement waits for a fresh render
    assert agreement_rendered(req, None) == (
        "The agreement has not been rendered yet. It is sent as soon as it is ready."
    )
    event = AuditEvent.objects.get(request=req, action="request.agreement_expired")
    assert (event.from_state, event.to_state) == (State.FPA_SENT, State.REVIEWED)
    assert [job["request_id"] for job in queued("agreement_expired")] == [req.pk]


def test_expiry_judges_the_sending_date_again_under_the_lock(feedback_user):
    """A job that listed the request before a fresh agreement was sent expires nothing."""
    req = sent_now(request_in(State.FPA_SENT, feedback_user))

    reminders.agreement_expire(request_id=req.pk)

    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert current_agreement(req).expired_at is None
    assert not AuditEvent.objects.filter(request=req, action="request.agreement_expired").exists()
    assert queued("agreement_expired") == []

    with days_later(settings.FPA_EXPIRY_DAYS + 1):
        reminders.agreement_expire(request_id=req.pk)

    req.refresh_from_db()
    assert req.state == State.REVIEWED
    assert current_agreement(req).expired_at is not None


def test_the_reminders_run_daily_on_the_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["agreement-reminders"]
    assert entry["task"] == tasks.agreement_reminders.name
    assert entry["task"] in app.tasks
