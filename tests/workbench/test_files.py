"""Files in the workbench: agreements and evidence download under safe names, each download
audited, only through their own request and only for staff allowed to see them."""

import hashlib

import pytest
from django.core.files.base import ContentFile

from agreements.selectors import current_agreement
from requests_app.models import AuditEvent, State
from tests.factories import EvidenceItemFactory, request_in
from tests.workbench.helpers import download, file_url

pytestmark = pytest.mark.django_db

# -- file downloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "filename"),
    [
        ("agreement", "FR-600001-federation-partnering-agreement.pdf"),
        ("signed", "FR-600001-federation-partnering-agreement-signed.pdf"),
    ],
)
def test_staff_download_the_agreement_and_are_audited(client, feedback_user, kind, filename):
    req = request_in(State.SIGNED, feedback_user, reference="FR-600001")
    agreement = current_agreement(req)
    client.force_login(feedback_user)

    response = client.get(file_url(req, kind, agreement.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    expected = agreement.pdf_sha256 if kind == "agreement" else agreement.signed_copy_sha256
    assert hashlib.sha256(download(response)).hexdigest() == expected
    event = AuditEvent.objects.get(request=req, action="file.downloaded")
    assert (event.actor, event.actor_label) == (feedback_user, feedback_user.username)
    what = "Issued FPA" if kind == "agreement" else "Signed FPA"
    assert event.message == f"{what} {filename} (SHA-256 {expected})."


def test_evidence_downloads_under_a_safe_name_whatever_it_was_uploaded_as(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user, reference="FR-600002")
    item = EvidenceItemFactory(
        request=req,
        original_filename='../../etc/passwd"\r\nX-Evil: 1.pdf',
        file=ContentFile(b"%PDF-1.4 evidence", name="e.pdf"),
    )
    client.force_login(feedback_user)

    response = client.get(file_url(req, "evidence", item.pk))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="FR-600002-evidence-{item.pk}.pdf"'
    )
    assert "X-Evil" not in response
    assert download(response) == b"%PDF-1.4 evidence"
    event = AuditEvent.objects.get(request=req, action="file.downloaded")
    assert event.actor == feedback_user
    assert event.message == f"evidence FR-600002-evidence-{item.pk}.pdf (SHA-256 {item.sha256})."


@pytest.mark.parametrize("kind", ["evidence", "agreement", "signed"])
def test_a_file_of_another_request_is_not_found_through_this_one(client, feedback_user, kind):
    req = request_in(State.SIGNED, feedback_user)
    other = request_in(State.SIGNED, feedback_user)
    file_pk = other.evidence_items.first().pk if kind == "evidence" else current_agreement(other).pk
    client.force_login(feedback_user)

    response = client.get(file_url(req, kind, file_pk))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_a_file_not_yet_there_is_not_found(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    agreement = current_agreement(req)  # sent, not yet signed
    client.force_login(feedback_user)

    assert client.get(file_url(req, "signed", agreement.pk)).status_code == 404
    assert client.get(file_url(req, "passport", agreement.pk)).status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_staff_in_no_group_cannot_download_files(client, outsider_user, feedback_user):
    req = request_in(State.SIGNED, feedback_user)
    client.force_login(outsider_user)

    assert client.get(file_url(req, "agreement", current_agreement(req).pk)).status_code == 403
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


@pytest.mark.parametrize("kind", ["signed", "evidence"])
def test_the_service_desk_cannot_download_agreements_or_evidence(
    client, service_desk_user, feedback_user, kind
):
    req = request_in(State.SIGNED, feedback_user)
    file_pk = req.evidence_items.first().pk if kind == "evidence" else current_agreement(req).pk
    client.force_login(service_desk_user)

    response = client.get(file_url(req, kind, file_pk))

    assert response.status_code == 403
