"""The annual re-attestation in Chromium: the SPOC answers (one criterion changed, with new
evidence), the signatory confirms; every page passes axe-core, and the task list says where it
stands."""

import io
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfWriter

from agreements.models import EvidenceCriterion, Reattestation, ReattestationStatus
from requests_app.models import Contact, ContactRole, State
from tests.browser.axe import violations
from tests.browser.test_public_pages import signed_in_as
from tests.factories import UserFactory, request_in

pytestmark = pytest.mark.django_db(transaction=True)


def blank_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_the_spoc_answers_the_signatory_confirms(page: Page, live_server):
    live = live_server.url
    staff = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    req = request_in(State.FEDERATED, staff)
    signatory = Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=f"dana{req.pk}@harbourside.example",
    )
    current = Reattestation.objects.create(
        request=req, term_ends_on=timezone.localdate() + timedelta(days=20)
    )
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    found: dict[str, list[str]] = {}

    signed_in_as(page, live, req.contacts.get(role=ContactRole.SPOC).email)
    page.goto(live + f"/account/requests/{req.reference}/")
    page.get_by_role("link", name="Re-attest the agreement").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Re-attest the Federation Partnering Agreement"
    )
    found["answer"] = violations(page)
    page.get_by_role("button", name="Send the answer to the signatory").click()
    page.locator(".nhsuk-error-summary").wait_for()
    found["answer with errors"] = violations(page)

    page.locator("label[for=id_contacts_confirmed]").click()
    for criterion in EvidenceCriterion.objects.all():
        choice = 1 if criterion.pk == dmarc.pk else 0  # changed : still met
        page.locator(f"label[for=id_answer_{criterion.pk}_{choice}]").click()
    page.set_input_files(
        f"#id_file_{dmarc.pk}",
        files=[{"name": "dmarc.pdf", "mimeType": "application/pdf", "buffer": blank_pdf()}],
    )
    page.get_by_role("button", name="Send the answer to the signatory").click()
    expect(page.locator("#reattestation-status")).to_have_text(
        "Waiting for the signatory's confirmation"
    )
    found["answered"] = violations(page)

    signed_in_as(page, live, signatory.email)
    page.goto(live + f"/account/requests/{req.reference}/")
    expect(page.locator("#task-list")).to_contain_text("Re-attest the agreement")
    page.get_by_role("link", name="Re-attest the agreement").click()
    page.locator("label[for=id_confirmed]").click()
    page.get_by_role("button", name="Confirm as signatory").click()
    expect(page.locator("#reattestation-status")).to_have_text(
        "Waiting for the Feedback team to verify"
    )
    found["confirmed"] = violations(page)

    current.refresh_from_db()
    assert current.status == ReattestationStatus.CONFIRMED
    assert current.answers.get(criterion=dmarc).evidence.original_filename == "dmarc.pdf"
    assert {name: problems for name, problems in found.items() if problems} == {}
