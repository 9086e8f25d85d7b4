"""An FPA past FPA_EXPIRY_DAYS is expired the moment it lapses, for every action on it, not only
once the daily job has marked it (signing itself: test_signing's
test_an_agreement_past_its_expiry_cannot_be_signed_before_the_daily_job_marks_it)."""

from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.conf import settings
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from agreements.models import Agreement, EvidenceCriterion, EvidenceItem
from agreements.selectors import current_agreement
from agreements.services import reminders
from agreements.services.agreements import agreement_issue
from agreements.services.evidence import evidence_add, evidence_submit
from agreements.services.notices import REQUEST_EMAIL_TASK
from agreements.services.signatures import request_record_signature
from agreements.tasks import agreement_request_email, signatory_invitation_email
from portal_kit.errors import ActionRefused
from requests_app.models import Contact, ContactRole, FederationRequest, OutboxMessage, State
from tests.factories import blank_pdf, request_in

pytestmark = pytest.mark.django_db

EXPIRED = f"has expired: it was not signed within {settings.FPA_EXPIRY_DAYS} days"


@pytest.fixture
def req(feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=req.pk).update(fpa_sent_at=timezone.now())
    req.refresh_from_db()
    return req


def lapsed():
    """The moment just past expiry, before the daily job has run."""
    return time_machine.travel(
        timezone.now() + timedelta(days=settings.FPA_EXPIRY_DAYS, minutes=1), tick=False
    )


def stored_files() -> set[Path]:
    return {path for path in Path(settings.PRIVATE_MEDIA_ROOT).rglob("*") if path.is_file()}


def test_a_lapsed_agreement_takes_no_evidence_from_contacts_or_staff(req, feedback_user):
    criterion = EvidenceCriterion.objects.filter(required=True).first()
    spoc = req.contacts.get(role=ContactRole.SPOC).email
    before = stored_files()

    with lapsed():
        with pytest.raises(ActionRefused, match=EXPIRED):
            evidence_submit(
                request_id=req.pk,
                actor_email=spoc,
                criterion_id=criterion.pk,
                upload=SimpleUploadedFile("report.pdf", blank_pdf()),
            )
        with pytest.raises(ActionRefused, match=EXPIRED):
            evidence_add(
                request_id=req.pk,
                actor=feedback_user,
                criterion_id=criterion.pk,
                upload=SimpleUploadedFile("report.pdf", blank_pdf()),
            )

    assert not EvidenceItem.objects.filter(request=req).exists()
    assert stored_files() == before  # nothing written for the refused uploads


def test_staff_cannot_record_a_signature_on_a_lapsed_agreement(req, feedback_user):
    before = stored_files()

    with lapsed(), pytest.raises(ActionRefused, match=EXPIRED):
        request_record_signature(
            request_id=req.pk,
            actor=feedback_user,
            signed_copy=SimpleUploadedFile("signed.pdf", blank_pdf(pages=2)),
            signatory_name="Dana Director",
            signatory_job_title="Director of Digital",
            signed_on=timezone.localdate(),
            signatory_is_director=True,
            matches_issued=True,
        )

    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert not current_agreement(req).signed_copy
    assert stored_files() == before


def test_a_reminder_queued_before_expiry_is_not_sent_after_it(req, mailoutbox):
    with time_machine.travel(
        timezone.now() + timedelta(days=settings.FPA_REMINDER_DAYS + 1), tick=False
    ):
        assert reminders.agreement_reminders()["fpa_reminders"] == 1
    job = OutboxMessage.objects.get(task_name=REQUEST_EMAIL_TASK, kwargs__kind="fpa_reminder")

    with lapsed():  # the worker was late (a broker outage): the FPA has lapsed meanwhile
        agreement_request_email(**job.kwargs)

    assert mailoutbox == []


def test_no_invitation_to_sign_a_lapsed_agreement(req, mailoutbox):
    signatory = Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email="dana@partner.example",
    )

    with lapsed():
        signatory_invitation_email(request_id=req.pk, contact_id=signatory.pk)

    assert mailoutbox == []


def test_staff_send_a_fresh_agreement_as_soon_as_the_old_one_lapses(req, feedback_user):
    old = current_agreement(req)

    with lapsed():
        fresh = agreement_issue(request_id=req.pk, actor=feedback_user)

    old.refresh_from_db()
    assert old.expired_at is not None
    assert fresh.pk != old.pk and Agreement.objects.filter(request=req).count() == 2
    req.refresh_from_db()
    assert req.state == State.REVIEWED  # until the fresh one is rendered and sent
    actions = list(req.audit_events.values_list("action", flat=True))
    assert actions.count("request.agreement_expired") == 1
    assert "agreement.requested" in actions
