"""The signatory signs the issued FPA in the portal; the sealed copy verifies on the public
page, a tampered one does not."""

import hashlib
import re
import subprocess

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from agreements import sealing
from agreements.models import Agreement, SignatureAct
from agreements.selectors import current_agreement
from agreements.services.agreements import agreement_render
from agreements.services.signatures import request_record_signature
from portal_kit.errors import ActionRefused
from requests_app.models import AuditEvent, Contact, ContactRole, FederationRequest, State
from tests.accounts.helpers import sign_in
from tests.factories import AgreementFactory, FederationRequestFactory
from tests.helpers import use_seal

pytestmark = pytest.mark.django_db

SIGNATORY = "dana.director@harbourside.example"


@pytest.fixture
def req(settings, seal_paths, feedback_user):
    use_seal(settings, seal_paths)
    req = FederationRequestFactory(state=State.FPA_SENT, organisation__name="Harbourside Health")
    agreement = AgreementFactory(request=req, requested_by=feedback_user)
    agreement_render(agreement_id=agreement.pk)  # the real FPA, rendered by WeasyPrint
    Agreement.objects.filter(pk=agreement.pk).update(sent_at=timezone.now())
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=SIGNATORY,
    )
    return req


@pytest.fixture
def signatory(client, req):
    sign_in(client, SIGNATORY)
    return client


def sign_form(req, **overrides):
    return {
        "name": "Dana Director",
        "job_title": "Director of Digital",
        "director_confirmed": "on",
        "attest_read": "on",
        "attest_authorised": "on",
        "attest_dcb1596": "on",
        "document_sha256": current_agreement(req).pdf_sha256,
        **overrides,
    }


def pdf_text(content: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-", "-"], input=content, capture_output=True, check=True
    ).stdout.decode()


def test_the_signatory_signs_the_exact_pdf_issued_and_gets_a_sealed_copy(signatory, req):
    url = reverse("portal:sign", args=[req.reference])
    page = signatory.get(url).content.decode()
    issued_sha = current_agreement(req).pdf_sha256
    assert f'<code id="issued-sha256">{issued_sha}</code>' in page

    response = signatory.post(url, sign_form(req), HTTP_USER_AGENT="Test browser 1.0")

    assert response["Location"] == reverse("portal:request", args=[req.reference])
    req.refresh_from_db()
    assert req.state == State.SIGNED
    act = SignatureAct.objects.get()
    assert (act.signer_email, act.document_sha256) == (SIGNATORY, issued_sha)
    assert (act.ip_address, act.user_agent) == ("127.0.0.1", "Test browser 1.0")
    assert len(act.attestations) == 3 and "DCB1596" in act.attestations[2]
    agreement = current_agreement(req)
    with agreement.signed_copy.open("rb") as handle:
        sealed = handle.read()
    assert hashlib.sha256(sealed).hexdigest() == agreement.signed_copy_sha256
    assert sealing.verify(sealed).genuine
    text = pdf_text(sealed)
    assert "Certificate of completion" in text and "Dana Director" in text
    assert issued_sha in text.replace("\n", "")
    event = AuditEvent.objects.get(request=req, action="request.signed")
    assert event.actor_label == SIGNATORY and issued_sha in event.message
    download = signatory.get(reverse("portal:signed_download", args=[req.reference]))
    assert b"".join(download.streaming_content) == sealed


def test_a_different_document_hash_is_refused_and_nothing_moves(signatory, req):
    other = "0" * 64
    response = signatory.post(
        reverse("portal:sign", args=[req.reference]), sign_form(req, document_sha256=other)
    )

    assert "not the one issued" in response.content.decode()
    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert not SignatureAct.objects.exists()
    assert AuditEvent.objects.filter(request=req, action="agreement.sign_refused").exists()


def test_only_the_signatory_may_sign(client, req):
    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)
    response = client.post(reverse("portal:sign", args=[req.reference]), sign_form(req))
    assert response.status_code == 403
    assert "Only the signatory named on the request" in response.content.decode()
    assert not SignatureAct.objects.exists()


def test_every_statement_must_be_confirmed(signatory, req):
    response = signatory.post(
        reverse("portal:sign", args=[req.reference]),
        sign_form(req, director_confirmed="", attest_dcb1596=""),
    )
    page = response.content.decode()
    assert "The agreement must be signed at Director level" in page
    assert "Confirm your organisation meets DCB1596" in page
    req.refresh_from_db()
    assert req.state == State.FPA_SENT


def test_without_a_seal_certificate_signing_in_the_portal_is_off(signatory, req, settings):
    settings.SEAL_KEY_FILE = ""
    response = signatory.get(reverse("portal:sign", args=[req.reference]))
    assert response.status_code == 403
    assert "Signing in the portal is not available yet" in response.content.decode()


def verify_page(content: bytes) -> str:
    response = Client().post(
        reverse("agreements:verify"), {"file": SimpleUploadedFile("fpa.pdf", content)}
    )
    assert response.status_code == 200
    return response.content.decode()


def test_the_verify_page_on_a_genuine_a_tampered_and_a_foreign_pdf(signatory, req):
    signatory.post(reverse("portal:sign", args=[req.reference]), sign_form(req))
    with current_agreement(req).signed_copy.open("rb") as handle:
        sealed = handle.read()

    genuine = verify_page(sealed)
    assert "Genuine and unaltered" in genuine
    assert "Harbourside Health" in genuine and req.reference in genuine
    assert (
        '<dd class="nhsuk-summary-list__value" id="request-state">Agreement signed</dd>' in genuine
    )

    tampered = bytearray(sealed)
    position = tampered.index(b"/MediaBox") + 12
    tampered[position] = ord("7") if tampered[position] != ord("7") else ord("8")
    altered = verify_page(bytes(tampered))
    assert "Not a genuine, unaltered agreement" in altered and "altered" in altered
    assert "Harbourside Health" not in altered

    with current_agreement(req).pdf.open("rb") as handle:
        foreign = verify_page(handle.read())  # the unsigned FPA: no seal
    assert "not sealed by this portal" in foreign


def test_a_copy_signed_elsewhere_needs_the_comparison_and_its_signatures_are_checked(
    req, feedback_user, seal_paths
):
    with current_agreement(req).pdf.open("rb") as handle:
        issued = handle.read()
    signed_elsewhere = sealing.seal(issued, reason="Signed with a desktop signing tool")
    details = {
        "signatory_name": "Dana Director",
        "signatory_job_title": "Director of Digital",
        "signed_on": timezone.localdate(),
        "signatory_is_director": True,
    }

    with pytest.raises(ActionRefused, match="Compare the signed copy"):
        request_record_signature(
            request_id=req.pk,
            actor=feedback_user,
            signed_copy=SimpleUploadedFile("signed.pdf", signed_elsewhere),
            **details,
        )
    request_record_signature(
        request_id=req.pk,
        actor=feedback_user,
        signed_copy=SimpleUploadedFile("signed.pdf", signed_elsewhere),
        matches_issued=True,
        **details,
    )

    check = current_agreement(req).signature_check
    assert check.startswith("1 PDF signature: ")
    assert "Test portal seal" in check and "intact, valid" in check
    assert "not from a trusted authority" in check  # the test CA is nobody's root
    req.refresh_from_db()
    assert req.state == State.SIGNED


def test_a_mangled_fingerprint_is_an_error_not_a_crash(signatory, req):
    response = signatory.post(
        reverse("portal:sign", args=[req.reference]), sign_form(req, document_sha256="é" * 64)
    )
    assert response.status_code == 200
    assert "The page was damaged in transit" in response.content.decode()
    req.refresh_from_db()
    assert req.state == State.FPA_SENT


def test_an_issued_file_changed_on_disk_is_refused_and_raised_as_an_alarm(signatory, req):
    agreement = current_agreement(req)
    with open(agreement.pdf.path, "ab") as handle:
        handle.write(b"% tampered on disk")

    response = signatory.post(reverse("portal:sign", args=[req.reference]), sign_form(req))

    assert "does not match its fingerprint" in response.content.decode()
    assert AuditEvent.objects.filter(action="agreement.issued_file_changed").exists()
    req.refresh_from_db()
    assert req.state == State.FPA_SENT and not SignatureAct.objects.exists()


def test_a_request_with_no_agreement_waiting_is_refused_in_the_services_words(signatory, req):
    FederationRequest.objects.filter(pk=req.pk).update(state=State.SIGNED)

    response = signatory.get(reverse("portal:sign", args=[req.reference]))

    assert response.status_code == 403
    assert (
        f"Request {req.reference} is “Agreement signed”: there is no agreement waiting for a "
        "signature."
    ) in response.content.decode()
    assert not SignatureAct.objects.exists()


def test_an_agreement_past_its_expiry_cannot_be_signed_before_the_daily_job_marks_it(
    signatory, req, settings
):
    # The daily job has not run yet; the sign page judges the expiry itself.
    sent_long_ago = timezone.now() - timezone.timedelta(days=settings.FPA_EXPIRY_DAYS + 1)
    FederationRequest.objects.filter(pk=req.pk).update(fpa_sent_at=sent_long_ago)

    page = signatory.get(reverse("portal:sign", args=[req.reference]))
    response = signatory.post(reverse("portal:sign", args=[req.reference]), sign_form(req))

    assert page.status_code == 403
    assert f"has expired: it was not signed within {settings.FPA_EXPIRY_DAYS} days" in (
        page.content.decode()
    )
    assert response.status_code == 403
    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert not SignatureAct.objects.exists()


def test_an_agreement_issued_again_while_it_was_being_sealed_is_not_signed(
    signatory, req, monkeypatch
):
    # Sealing runs before the row lock; a fresh issue landing meanwhile must be noticed under it.
    from agreements.services import signing

    real_seal = signing.seal

    def seal_while_reissued(pdf, *, reason):
        Agreement.objects.filter(request=req).update(pdf_sha256="f" * 64)
        return real_seal(pdf, reason=reason)

    monkeypatch.setattr(signing, "seal", seal_while_reissued)
    response = signatory.post(reverse("portal:sign", args=[req.reference]), sign_form(req))

    assert "The agreement was issued again while you were signing" in response.content.decode()
    req.refresh_from_db()
    assert req.state == State.FPA_SENT
    assert not SignatureAct.objects.exists()
    assert not current_agreement(req).signed_copy


def test_the_sign_page_is_filled_in_from_the_signatory_as_named(signatory, req):
    page = signatory.get(reverse("portal:sign", args=[req.reference])).content.decode()

    assert re.search(
        r'<input[^>]*name="name"[^>]*value="Dana Director"[^>]*autocomplete="name"', page
    )
    assert re.search(
        r'<input[^>]*name="job_title"[^>]*value="Director of Digital"'
        r'[^>]*autocomplete="organization-title"',
        page,
    )
