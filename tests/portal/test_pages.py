"""What a signed-in contact sees: their own organisations' requests, nobody else's."""

import hashlib
import html
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone

from agreements.models import EvidenceCriterion
from requests_app.models import AuditEvent, Contact, ContactRole, State
from tests.accounts.helpers import sign_in
from tests.factories import AgreementFactory, EvidenceItemFactory, FederationRequestFactory

pytestmark = pytest.mark.django_db


def sent_agreement(req):
    content = b"%PDF-1.4 issued agreement"
    return AgreementFactory(
        request=req,
        pdf=ContentFile(content, name="fpa.pdf"),
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        rendered_at=timezone.now(),
        sent_at=timezone.now(),
    )


@pytest.fixture
def own():
    return FederationRequestFactory(state=State.FPA_SENT, organisation__name="Harbourside Health")


@pytest.fixture
def other():
    return FederationRequestFactory(state=State.FPA_SENT, organisation__name="Elsewhere Trust")


@pytest.fixture
def signed_in(client, own):
    sign_in(client, own.contacts.get(role=ContactRole.SPOC).email)
    return client


def test_the_home_page_lists_the_organisations_requests_only(signed_in, own, other):
    second = FederationRequestFactory(organisation=own.organisation, state=State.FEDERATED)

    page = signed_in.get("/account/").content.decode()

    assert own.reference in page and second.reference in page
    assert other.reference not in page and "Elsewhere Trust" not in page


def test_a_request_page_shows_state_agreement_evidence_and_current_contacts(signed_in, own):
    sent_agreement(own)
    criteria = list(EvidenceCriterion.objects.filter(required=True).order_by("position")[:2])
    EvidenceItemFactory(request=own, criterion=criteria[0], status="verified")
    EvidenceItemFactory(
        request=own, criterion=criteria[1], status="returned", returned_reason="Unsigned policy."
    )
    Contact.objects.create(
        request=own,
        role=ContactRole.TECHNICAL,
        name="Former Person",
        job_title="Engineer",
        email="former@partner.example",
        removed_at=timezone.now(),
    )

    page = signed_in.get(f"/account/requests/{own.reference}/").content.decode()

    assert 'id="state">Agreement sent</strong>' in page
    assert f"/account/requests/{own.reference}/agreement.pdf" in page
    assert f"{criteria[0].title}</dt>" in page and "Verified" in page
    assert "Needs more work:</strong> Unsigned policy." in page
    assert "Sam Spoc" in page and "Tess Tech" in page
    assert "Former Person" not in page


def test_the_agreement_downloads_for_its_own_contacts_and_is_audited(signed_in, own):
    sent_agreement(own)

    response = signed_in.get(f"/account/requests/{own.reference}/agreement.pdf")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content).startswith(b"%PDF-1.4 issued agreement")
    event = AuditEvent.objects.get(request=own, action="file.downloaded")
    assert event.actor_label == own.contacts.get(role=ContactRole.SPOC).email
    digest = hashlib.sha256(b"%PDF-1.4 issued agreement").hexdigest()
    assert event.message == (
        f"Issued FPA {own.reference}-federation-partnering-agreement.pdf (SHA-256 {digest})."
    )


def test_another_organisations_request_and_agreement_are_404(signed_in, other):
    sent_agreement(other)

    for path in (
        f"/account/requests/{other.reference}/",
        f"/account/requests/{other.reference}/agreement.pdf",
        "/account/requests/FR-999999/",
    ):
        response = signed_in.get(path)
        assert response.status_code == 404, path
        assert other.organisation.name not in response.content.decode()
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_no_agreement_yet_is_a_404_for_the_download(signed_in, own):
    assert signed_in.get(f"/account/requests/{own.reference}/agreement.pdf").status_code == 404


def test_a_person_who_is_a_contact_of_two_organisations_sees_both(client, own, other):
    email = own.contacts.get(role=ContactRole.SPOC).email
    Contact.objects.create(
        request=other, role=ContactRole.TECHNICAL, name="Sam", job_title="IT", email=email.upper()
    )
    sign_in(client, email)

    assert client.get(f"/account/requests/{other.reference}/").status_code == 200


def test_the_account_pages_are_never_cached(signed_in, own):
    response = signed_in.get(f"/account/requests/{own.reference}/")
    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"


def test_each_page_of_a_request_has_a_title_of_its_own(signed_in, own):
    # WCAG 2.2 SC 2.4.2: the status link's page and the contact's page are different pages.
    status = signed_in.get(reverse("requests_app:status", args=[own.status_token]))
    portal = signed_in.get(reverse("portal:request", args=[own.reference]))

    def title(response) -> str:
        return html.unescape(re.search(r"<title>(.*?)</title>", response.content.decode()).group(1))

    assert title(status).startswith(f"Where request {own.reference} stands")
    assert title(portal).startswith(f"Request {own.reference} for {own.organisation.name}")
