"""Reminders of an unsigned FPA and of missing evidence, and expiry, with time moved on."""

from datetime import timedelta

import pytest
import time_machine
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from agreements import reminders, tasks
from agreements.models import EvidenceCriterion
from federation_portal.celery import app
from requests_app.models import AuditEvent, FederationRequest, OutboxMessage, State
from requests_app.services import SEND_EMAIL_TASK
from requests_app.tasks import send_request_email
from tests.agreements.test_admin import request_in
from tests.factories import EvidenceItemFactory

pytestmark = pytest.mark.django_db


def queued(kind: str) -> list[dict]:
    rows = OutboxMessage.objects.filter(task_name=SEND_EMAIL_TASK).order_by("pk")
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
    send_request_email(**queued("fpa_reminder")[0])
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
    assert req.current_agreement.expired_at is not None
    assert not req.has_rendered_agreement()  # send_agreement waits for a fresh render
    event = AuditEvent.objects.get(request=req, action="request.agreement_expired")
    assert (event.from_state, event.to_state) == (State.FPA_SENT, State.REVIEWED)
    assert [job["request_id"] for job in queued("agreement_expired")] == [req.pk]


def test_the_reminders_run_daily_on_the_beat():
    entry = settings.CELERY_BEAT_SCHEDULE["agreement-reminders"]
    assert entry["task"] == tasks.agreement_reminders.name
    assert entry["task"] in app.tasks


def test_staff_see_overdue_requests_first(client, feedback_user):
    late = request_in(State.FPA_SENT, feedback_user)
    on_time = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=late.pk).update(
        fpa_sent_at=timezone.now() - timedelta(days=10)
    )
    client.force_login(feedback_user)
    url = reverse("admin:requests_app_federationrequest_changelist")

    page = client.get(url).content.decode()
    assert '<a href="?overdue=unsigned">1 unsigned agreement</a>' in page
    assert 'id="overdue-evidence"' not in page  # nothing of that kind is late
    filtered = client.get(url, {"overdue": "unsigned"}).content.decode()
    assert late.reference in filtered and on_time.reference not in filtered
