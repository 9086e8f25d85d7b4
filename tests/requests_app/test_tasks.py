"""Tasks are idempotent, and the outbox keeps a job the broker could not take."""

import socket
from datetime import timedelta

import pytest
import redis
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.utils import timezone

from agreements import tasks as agreement_tasks
from agreements.models import Agreement
from agreements.services import agreements as agreement_services
from portal_kit.errors import ActionRefused
from requests_app import emails, outbox, tasks
from requests_app.models import OutboxMessage, SentEmail, State
from requests_app.services.lifecycle import SEND_EMAIL_TASK
from tests.conftest import publishing_to
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db


def test_sending_the_same_email_twice_sends_it_once(mailoutbox):
    req = FederationRequestFactory()

    assert tasks.send_request_email(req.pk, "submitted", "submitted") is True
    assert tasks.send_request_email(req.pk, "submitted", "submitted") is False

    assert len(mailoutbox) == 1
    assert SentEmail.objects.filter(request=req).count() == 1
    assert req.reference in mailoutbox[0].subject
    assert set(mailoutbox[0].to) == {req.requester_email, f"spoc{req.pk}@partner.example"}


def test_a_repeatable_email_kind_goes_out_once_per_key(mailoutbox):
    req = FederationRequestFactory(state=State.SIGNED)

    agreement_tasks.agreement_request_email(req.pk, "evidence_returned", "evidence_returned:1")
    agreement_tasks.agreement_request_email(req.pk, "evidence_returned", "evidence_returned:2")
    agreement_tasks.agreement_request_email(req.pk, "evidence_returned", "evidence_returned:2")

    assert len(mailoutbox) == 2


def test_rendering_the_agreement_twice_renders_and_sends_it_once(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)

    agreement_tasks.agreement_render(agreement.pk)
    first_hash = Agreement.objects.get(pk=agreement.pk).pdf_sha256
    agreement_tasks.agreement_render(agreement.pk)

    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert Agreement.objects.get(pk=agreement.pk).pdf_sha256 == first_hash
    actions = list(req.audit_events.values_list("action", flat=True))
    assert actions.count("agreement.rendered") == 1
    assert actions.count("request.agreement_sent") == 1
    assert OutboxMessage.objects.filter(task_name="agreements.tasks.agreement_email").count() == 1


def test_a_render_that_times_out_is_stored_as_a_failure_staff_can_see(feedback_user, monkeypatch):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)

    def too_slow(agreement):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(agreement_services, "render_agreement_pdf", too_slow)
    agreement_tasks.agreement_render(agreement.pk)

    agreement.refresh_from_db()
    req.refresh_from_db()
    assert "longer than 120 seconds" in agreement.failure
    assert req.state == State.REVIEWED
    assert req.audit_events.filter(action="agreement.failed").exists()
    # The failed attempt no longer blocks a fresh one.
    agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_the_outbox_keeps_a_job_the_broker_refused_and_publishes_it_later():
    req = FederationRequestFactory()
    message = OutboxMessage.objects.create(
        task_name=SEND_EMAIL_TASK,
        kwargs={"request_id": req.pk, "kind": "submitted", "key": "submitted"},
    )
    with publishing_to(f"redis://127.0.0.1:{_closed_port()}/0"):
        assert outbox.publish(message.pk) is False
    message.refresh_from_db()
    assert message.dispatched_at is None
    assert message.attempts == 1
    assert "Connection refused" in message.last_error or "Error" in message.last_error

    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    queue = f"{settings.TEST_BROKER_PREFIX}default"
    broker.delete(queue)
    assert outbox.dispatch_pending() == 1
    message.refresh_from_db()
    assert message.dispatched_at is not None
    assert broker.llen(queue) == 1  # the job is on the worker's queue
    broker.delete(queue)
    assert outbox.dispatch_pending() == 0  # published once only


def test_a_render_that_keeps_failing_is_recorded_and_a_fresh_agreement_can_be_sent(
    feedback_user, monkeypatch
):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)

    def broken(agreement):
        raise RuntimeError("font cache is corrupt")

    monkeypatch.setattr(agreement_services, "render_agreement_pdf", broken)
    result = agreement_tasks.agreement_render.apply(kwargs={"agreement_id": agreement.pk})

    assert result.failed()
    agreement.refresh_from_db()
    assert agreement.failure == "Rendering failed: font cache is corrupt"
    agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)


def test_an_agreement_lost_in_preparation_does_not_block_a_fresh_one(feedback_user):
    req = FederationRequestFactory(state=State.REVIEWED)
    agreement = agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)
    with pytest.raises(ActionRefused, match="already being prepared"):
        agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)

    Agreement.objects.filter(pk=agreement.pk).update(
        requested_at=timezone.now() - timedelta(minutes=settings.AGREEMENT_RENDER_STALE_MINUTES + 1)
    )

    agreement_services.agreement_issue(request_id=req.pk, actor=feedback_user)
    assert req.agreements.count() == 2


def test_an_email_that_cannot_be_sent_is_in_the_audit_log(monkeypatch):
    req = FederationRequestFactory()

    def refused(**kwargs):
        raise ValueError("the mail server refused the address")

    monkeypatch.setattr(emails, "send_once", refused)
    result = tasks.send_request_email.apply(
        kwargs={"request_id": req.pk, "kind": "submitted", "key": "submitted"}
    )

    assert result.failed()
    event = req.audit_events.get(action="email.failed")
    assert "the mail server refused the address" in event.message


def test_a_job_published_long_ago_and_never_done_is_published_again(settings):
    """Redis can lose a job it has handed out (popped, the reply never read): the outbox row
    stays open until the job has run, and the sweeper publishes it again."""
    req = FederationRequestFactory()
    long_ago = timezone.now() - timedelta(seconds=settings.OUTBOX_REDISPATCH_SECONDS + 60)
    lost, done = (
        OutboxMessage.objects.create(
            task_name=SEND_EMAIL_TASK,
            kwargs={"request_id": req.pk, "kind": "submitted", "key": key},
            created_at=long_ago,
            dispatched_at=long_ago,
        )
        for key in ("lost", "done")
    )
    outbox.job_finished(f"{outbox.TASK_ID_PREFIX}{done.pk}-0123")

    assert outbox.dispatch_pending() == 1

    lost.refresh_from_db()
    done.refresh_from_db()
    assert lost.dispatched_at > long_ago and lost.completed_at is None
    assert done.dispatched_at == long_ago and done.completed_at is not None
