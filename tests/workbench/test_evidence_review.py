"""Evidence in the workbench: the Feedback team adds it, verifies it or returns it; uploads are
limited in size and kind, and the service desk adds none."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from agreements.models import EvidenceCriterion, EvidenceItem, EvidenceStatus
from portal_kit.uploads import SizeLimitUploadHandler
from requests_app.models import FederationRequest, State
from tests.factories import EvidenceItemFactory, request_in
from tests.workbench.helpers import evidence_url, pdf_upload, shown_messages, text

pytestmark = pytest.mark.django_db

# -- evidence ------------------------------------------------------------------------------------


def test_the_feedback_team_adds_evidence(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    tls = EvidenceCriterion.objects.get(code="tls")
    client.force_login(feedback_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": tls.pk, "file": pdf_upload("TLS report.pdf"), "notes": ""},
        follow=True,
    )

    assert shown_messages(response) == [("success", "The evidence was added.")]
    item = EvidenceItem.objects.get(request=req)
    assert (item.criterion, item.original_filename, item.uploaded_by) == (
        tls,
        "TLS report.pdf",
        feedback_user,
    )


def test_an_oversized_upload_stops_being_read_at_the_limit(
    client, feedback_user, settings, monkeypatch
):
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(feedback_user)
    received = []
    original = SizeLimitUploadHandler.receive_data_chunk

    def counting(handler, raw_data, start):
        received.append(len(raw_data))
        return original(handler, raw_data, start)

    monkeypatch.setattr(SizeLimitUploadHandler, "receive_data_chunk", counting)
    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {
            "criterion": EvidenceCriterion.objects.first().pk,
            "file": SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * (4 * 1024 * 1024)),
        },
    )

    assert "The file must be no larger than 64.0 KB." in text(response)
    assert sum(received) <= 2 * 64 * 1024  # at most one chunk past the limit; not 4 MB
    assert not EvidenceItem.objects.filter(request=req).exists()


def test_evidence_that_is_not_a_pdf_is_refused_with_a_sentence(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(feedback_user)
    upload = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf")

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": EvidenceCriterion.objects.first().pk, "file": upload},
        follow=True,
    )

    assert shown_messages(response) == [
        ("error", "The evidence was not accepted. The file must be a PDF; this file is not one.")
    ]
    assert not EvidenceItem.objects.filter(request=req).exists()


@pytest.mark.parametrize(
    ("verb", "data", "status", "success"),
    [
        ("verify", {}, EvidenceStatus.VERIFIED, "Evidence for “{title}” verified."),
        (
            "return",
            {"reason": "The DMARC record is p=none."},
            EvidenceStatus.RETURNED,
            "Evidence for “{title}” returned for rework.",
        ),
    ],
)
def test_the_feedback_team_verifies_or_returns_evidence(
    client, feedback_user, verb, data, status, success
):
    req = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=req.pk).update(state=State.SIGNED)
    item = EvidenceItemFactory(request=req, criterion=EvidenceCriterion.objects.get(code="dmarc"))
    client.force_login(feedback_user)

    assert client.get(evidence_url(req, item, verb)).status_code == 200
    response = client.post(evidence_url(req, item, verb), data, follow=True)

    assert shown_messages(response) == [("success", success.format(title=item.criterion.title))]
    item.refresh_from_db()
    assert item.status == status


def test_evidence_of_another_request_cannot_be_reviewed_through_this_one(client, feedback_user):
    req = request_in(State.SIGNED, feedback_user)
    other = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=other.pk).update(state=State.SIGNED)
    item = EvidenceItemFactory(request=other)
    client.force_login(feedback_user)

    assert client.post(evidence_url(req, item, "verify")).status_code == 404
    item.refresh_from_db()
    assert item.status == EvidenceStatus.PENDING


def test_the_service_desk_cannot_add_evidence(client, service_desk_user, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(service_desk_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": EvidenceCriterion.objects.first().pk, "file": pdf_upload()},
        follow=True,
    )

    assert shown_messages(response) == [("error", "You do not have permission to add evidence.")]
    assert not EvidenceItem.objects.filter(request=req).exists()
