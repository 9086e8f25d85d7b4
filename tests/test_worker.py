"""With a real Celery worker on Redis: emails, the agreement's rendering, and broker outages."""

import hashlib

import pytest
from django.urls import reverse

from agreements.selectors import current_agreement
from agreements.services.agreements import agreement_issue
from requests_app.models import FederationRequest, OutboxMessage, State
from requests_app.services.lifecycle import request_review
from tests.conftest import sent_mail, wait_for, wait_for_check_runs
from tests.helpers import confirmation_link_path, submit_lakeside_care

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

FORM = {
    "organisation_name": "Harbourside Health Partnership",
    "ods_code": "",
    "has_nhsmail_presence": "no",
    "domains": "harbourside.example.org.uk",
    "justification": "Teams federation",
    "requester_name": "Rowan Requester",
    "requester_email": "rowan@harbourside.example.org.uk",
    "spoc_name": "Sam Spoc",
    "spoc_job_title": "IT Manager",
    "spoc_email": "sam@harbourside.example.org.uk",
    "spoc_phone": "",
    "technical_name": "Tess Tech",
    "technical_job_title": "Teams Administrator",
    "technical_email": "tess@harbourside.example.org.uk",
    "technical_phone": "",
}


def mail_to(address: str, subject_part: str):
    return [m for m in sent_mail() if address in m["To"] and subject_part in m["Subject"]]


def test_submission_emails_requester_and_spoc_with_the_status_link(client, celery_worker_process):
    response = client.post(reverse("requests_app:request_form"), FORM)
    assert response.status_code == 302
    [link_email] = wait_for(
        lambda: mail_to("rowan@", "Confirm your email address"), what="the confirmation link"
    )
    assert link_email["To"] == "rowan@harbourside.example.org.uk"  # nobody else, yet
    assert not FederationRequest.objects.exists()

    assert client.post(confirmation_link_path(link_email.get_content())).status_code == 302
    req = FederationRequest.objects.get()

    messages = wait_for(lambda: mail_to("rowan@", req.reference), what="the request email")
    assert len(messages) == 1
    message = messages[0]
    assert "sam@harbourside.example.org.uk" in message["To"]
    body = message.get_content()
    assert f"/status/{req.status_token}/" in body
    assert "harbourside.example.org.uk" in body
    # The confirmation email and the domain check were both handed to the broker.
    assert not OutboxMessage.objects.filter(dispatched_at__isnull=True).exists()


def test_sending_the_agreement_renders_it_in_the_worker_and_emails_the_pdf(
    celery_worker_process, feedback_user
):
    req = submit_lakeside_care()
    wait_for_check_runs(req)
    request_review(
        request_id=req.pk,
        actor=feedback_user,
        notes="Domain checks seen.",
        override_reason="No DNS is served to this test: checked by hand.",
    )
    agreement_issue(request_id=req.pk, actor=feedback_user)

    def sent():
        req.refresh_from_db()
        return req.state == State.FPA_SENT

    wait_for(sent, timeout=60, what="the worker to render and send the agreement")
    agreement = current_agreement(req)
    assert agreement.pdf_sha256 and agreement.sent_at
    message = wait_for(
        lambda: mail_to("lee@", "Federation Partnering Agreement"),
        timeout=30,
        what="the agreement email",
    )[0]
    attachments = list(message.iter_attachments())
    assert [a.get_content_type() for a in attachments] == ["application/pdf"]
    pdf = attachments[0].get_content()
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == agreement.pdf_sha256
    assert "DCB1596" in message.get_body(preferencelist=("plain",)).get_content()
    actions = list(req.audit_events.values_list("action", flat=True))
    assert actions.count("request.agreement_sent") == 1
    assert actions.count("agreement.rendered") == 1
