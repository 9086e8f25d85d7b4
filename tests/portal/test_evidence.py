"""Contacts upload DCB1596 evidence per criterion; staff see it with the domain checks' results."""

import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image
from pypdf import PdfWriter

from agreements.models import EvidenceCriterion, EvidenceItem
from requests_app.models import AuditEvent, ContactRole, State
from tests.accounts.helpers import sign_in
from tests.agreements.corpus import HTML_PAGE, image_bytes, pdf_with_link, uri
from tests.factories import EvidenceItemFactory, FederationRequestFactory, complete_check_run

pytestmark = pytest.mark.django_db


def pdf() -> SimpleUploadedFile:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return SimpleUploadedFile("dmarc-report.pdf", buffer.getvalue())


def png() -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20)).save(buffer, format="PNG")
    return SimpleUploadedFile("screenshot.png", buffer.getvalue())


def url(req, criterion):
    return reverse("portal:evidence_upload", args=[req.reference, criterion.pk])


@pytest.fixture
def req():
    return FederationRequestFactory(state=State.FPA_SENT)


@pytest.fixture
def spoc_client(client, req):
    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)
    return client


def test_a_contact_uploads_evidence_for_a_criterion(spoc_client, req):
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    assert (
        "Upload"
        in spoc_client.get(reverse("portal:request", args=[req.reference])).content.decode()
    )

    response = spoc_client.post(url(req, dmarc), {"file": pdf()})

    assert response.status_code == 302
    item = EvidenceItem.objects.get()
    assert (item.criterion, item.status) == (dmarc, "pending")
    assert item.uploaded_by_email == req.contacts.get(role=ContactRole.SPOC).email
    assert item.file.name.endswith(".pdf") and "dmarc-report" not in item.file.name
    event = AuditEvent.objects.get(action="evidence.uploaded")
    assert event.actor_label == item.uploaded_by_email


def test_screenshots_only_where_the_criterion_takes_them(spoc_client, req):
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    ods = EvidenceCriterion.objects.get(code="ods-code")

    assert spoc_client.post(url(req, dmarc), {"file": png()}).status_code == 302
    refused = spoc_client.post(url(req, ods), {"file": png()})

    assert "The file must be a PDF; this file is not one." in refused.content.decode()
    assert EvidenceItem.objects.get().file.name.endswith(".png")


def test_a_hostile_file_is_refused_with_a_sentence(spoc_client, req):
    criterion = EvidenceCriterion.objects.get(code="dmarc")
    hostile = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 a renamed program")

    response = spoc_client.post(url(req, criterion), {"file": hostile})

    assert "The evidence was not accepted." in response.content.decode()
    assert not EvidenceItem.objects.exists()


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (image_bytes("PNG") + HTML_PAGE, "The file has data after its end"),
        (pdf_with_link(uri(b"(javascript:app.alert(1))")), "a javascript: link"),
    ],
)
def test_a_polyglot_or_a_script_link_is_refused_on_the_evidence_page(
    spoc_client, req, content, reason
):
    criterion = EvidenceCriterion.objects.get(code="dmarc")  # takes screenshots

    response = spoc_client.post(url(req, criterion), {"file": SimpleUploadedFile("x", content)})

    assert reason in response.content.decode()
    assert not EvidenceItem.objects.exists()


def test_returned_evidence_shows_why_and_can_be_sent_again(spoc_client):
    req = FederationRequestFactory(state=State.SIGNED)
    sign_in(spoc_client, req.contacts.get(role=ContactRole.SPOC).email)
    criterion = EvidenceCriterion.objects.get(code="tls")
    EvidenceItemFactory(
        request=req, criterion=criterion, status="returned", returned_reason="Unreadable scan."
    )

    page = spoc_client.get(reverse("portal:request", args=[req.reference])).content.decode()
    assert "Needs more work:</strong> Unreadable scan." in page
    spoc_client.post(url(req, criterion), {"file": pdf()})

    assert list(EvidenceItem.objects.order_by("pk").values_list("status", flat=True)) == [
        "returned",
        "pending",
    ]


def test_no_evidence_before_the_agreement_is_sent(client):
    req = FederationRequestFactory(state=State.REVIEWED)
    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)
    response = client.post(url(req, EvidenceCriterion.objects.first()), {"file": pdf()})
    assert "Evidence is taken once the agreement is sent" in response.content.decode()
    assert not EvidenceItem.objects.exists()


def test_another_organisations_request_takes_no_evidence(client, req):
    other = FederationRequestFactory(state=State.FPA_SENT)
    sign_in(client, other.contacts.get(role=ContactRole.SPOC).email)
    response = client.post(url(req, EvidenceCriterion.objects.first()), {"file": pdf()})
    assert response.status_code == 404
    assert not EvidenceItem.objects.exists()


def test_staff_see_the_domain_checks_with_the_evidence_they_speak_to(client, feedback_user, req):
    complete_check_run(req, statuses={"dmarc": "fail", "spf": "pass"})
    EvidenceItemFactory(request=req, criterion=EvidenceCriterion.objects.get(code="dmarc"))
    client.force_login(feedback_user)

    page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))

    assert "dmarc fail (dmarc: fail)" in page.content.decode()


def test_evidence_already_sent_is_replaced_not_uploaded_again(spoc_client, req):
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    page_url = reverse("portal:request", args=[req.reference])
    link = f'<a href="{url(req, dmarc)}">'
    assert f"{link}Upload<" in spoc_client.get(page_url).content.decode()

    spoc_client.post(url(req, dmarc), {"file": pdf()})  # now awaiting review

    page = spoc_client.get(page_url).content.decode()
    assert f"{link}Replace<" in page
    assert f"{link}Upload<" not in page
