"""Daily jobs that overlap (a beat run twice, a retry beside a fresh run) open one
re-attestation per term: the request's row lock, then the database's constraints."""

from datetime import date

import pytest
from django.db import connection

from agreements.models import Reattestation
from agreements.services import reattestation
from requests_app import outbox
from requests_app.models import AuditEvent, Contact, ContactRole, OutboxMessage, State
from requests_app.services import lifecycle
from tests.agreements.test_reattestation import FEDERATED_ON, NOTICE_ON, at
from tests.factories import request_in
from tests.requests_app.test_race import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _postgresql_only():
    assert connection.vendor == "postgresql", "race tests need PostgreSQL's row locks"


@pytest.fixture(autouse=True)
def _no_broker(monkeypatch):
    monkeypatch.setattr(outbox, "publish", lambda message_id: None)


def test_jobs_at_once_open_one_reattestation_and_send_one_notice(feedback_user):
    with at(FEDERATED_ON):
        req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
        Contact.objects.create(
            request=req,
            role=ContactRole.SIGNATORY,
            name="Dana Director",
            job_title="Director of Digital",
            email="dana@partner.example",
        )
        lifecycle.request_federate(request_id=req.pk, actor=feedback_user)

    with at(NOTICE_ON):
        results = run_at_once(
            8, lambda index: reattestation.reattestation_open(request_id=req.pk) is not None
        )

    assert sorted(results) == [("ok", False)] * 7 + [("ok", True)]
    assert Reattestation.objects.filter(request=req).count() == 1
    assert AuditEvent.objects.filter(request=req, action="reattestation.opened").count() == 1
    notices = OutboxMessage.objects.filter(task_name=reattestation.REATTESTATION_EMAIL_TASK)
    assert notices.count() == 1
    assert Reattestation.objects.get().term_ends_on == date(2028, 1, 15)
