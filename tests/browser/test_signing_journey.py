"""The Director signs the agreement in a real browser, from the emailed sign-in link to the
sealed copy checked on the public verify page."""

import re
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from agreements.dev_seal import make_seal_ca
from agreements.models import Agreement
from agreements.services.agreements import agreement_render
from requests_app.models import Contact, ContactRole, State
from tests.conftest import sent_mail, wait_for
from tests.factories import AgreementFactory, FederationRequestFactory
from tests.helpers import use_seal

pytestmark = pytest.mark.django_db(transaction=True)

SIGNATORY = "dana.director@harbourside.example"


def sign_in_link_path(address: str) -> str:
    message = wait_for(
        lambda: [m for m in sent_mail() if address in m["To"] and "sign-in link" in m["Subject"]],
        timeout=30,
        what="the sign-in email",
    )[0]
    match = re.search(r"https?://\S+/account/sign-in/link/[\w-]+/", message.get_content())
    assert match, "the sign-in email has no link"
    return urlsplit(match.group(0)).path


def test_the_director_signs_in_the_browser_and_the_sealed_copy_verifies(
    page: Page, live_server, celery_worker_process, settings, tmp_path, feedback_user
):
    use_seal(settings, make_seal_ca(tmp_path / "seal"))
    req = FederationRequestFactory(state=State.FPA_SENT, organisation__name="Harbourside Health")
    agreement = AgreementFactory(request=req, requested_by=feedback_user)
    agreement_render(agreement_id=agreement.pk)
    Agreement.objects.filter(pk=agreement.pk).update(sent_at=timezone.now())
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=SIGNATORY,
    )
    live = live_server.url

    page.goto(live + "/account/sign-in/")
    page.get_by_label("Email address").fill(SIGNATORY)
    page.get_by_role("button", name="Email me a sign-in link").click()
    page.goto(live + sign_in_link_path(SIGNATORY))
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name=req.reference).click()
    page.get_by_role("button", name="Sign the agreement").click()

    issued_sha = Agreement.objects.get(pk=agreement.pk).pdf_sha256
    expect(page.locator("#issued-sha256")).to_have_text(issued_sha)
    page.get_by_label("Your full name").fill("Dana Director")
    page.get_by_label("Your job title").fill("Director of Digital")
    page.get_by_label("I hold a Director-level role in my organisation").check()
    page.get_by_label("I have read the Federation Partnering Agreement as issued").check()
    page.get_by_label("I am authorised to sign it on behalf of my organisation").check()
    page.get_by_label("My organisation meets the DCB1596 secure email standard").check()
    page.get_by_role("button", name="Sign the agreement").click()

    expect(page.get_by_text("You have signed the agreement. Thank you.")).to_be_visible()
    expect(page.locator("#state")).to_have_text("Agreement signed")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the signed agreement (PDF)").click()
    sealed_path = tmp_path / "signed.pdf"
    download_info.value.save_as(sealed_path)

    # Anyone can check the copy on the public verify page.
    page.get_by_role("button", name="Sign out").click()
    page.goto(live + "/agreements/verify/")
    page.get_by_label("The signed agreement (PDF)").set_input_files(sealed_path)
    page.get_by_role("button", name="Check the agreement").click()
    result = page.locator("#verify-result")
    expect(result).to_contain_text("Genuine and unaltered")
    expect(result).to_contain_text("Harbourside Health")
    expect(page.locator("#request-state")).to_have_text("Agreement signed")
