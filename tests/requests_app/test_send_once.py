"""An email is claimed, sent, then marked sent: a refused send is tried again, a second run of the
same job sends nothing while the first holds it, and a dead run's claim lapses."""

import socket
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from requests_app import emails
from requests_app.models import SentEmail
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_refused_send_leaves_the_email_to_the_retry_which_sends_it_once(settings, mailoutbox):
    req = FederationRequestFactory()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", closed_port()

    with pytest.raises(OSError):  # the task's autoretry takes it from here
        emails.send_request_email(request_id=req.pk, kind="submitted", key="submitted")
    row = SentEmail.objects.get(request=req)
    assert row.sent_at is None and row.claim_token == ""  # released, not sent

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert emails.send_request_email(request_id=req.pk, kind="submitted", key="submitted")
    assert not emails.send_request_email(request_id=req.pk, kind="submitted", key="submitted")
    assert len(mailoutbox) == 1
    row.refresh_from_db()
    assert row.sent_at is not None


def test_a_second_run_waits_while_the_first_holds_the_email_then_takes_over_a_dead_claim(
    mailoutbox,
):
    req = FederationRequestFactory()
    key = emails.request_email_key(req, "submitted")
    # The first run claimed it and was killed before it sent (or before it marked it sent).
    SentEmail.objects.create(key=key, request=req, recipients="", subject="", claim_token="a" * 32)

    with pytest.raises(emails.EmailInProgress) as busy:
        emails.send_request_email(request_id=req.pk, kind="submitted", key="submitted")
    assert 0 < busy.value.retry_in <= emails.EMAIL_CLAIM_SECONDS + 1
    assert mailoutbox == []

    lapsed = timezone.now() + timedelta(seconds=emails.EMAIL_CLAIM_SECONDS + 1)
    with time_machine.travel(lapsed, tick=False):
        assert emails.send_request_email(request_id=req.pk, kind="submitted", key="submitted")
    assert len(mailoutbox) == 1
    assert SentEmail.objects.get(key=key).sent_at is not None
