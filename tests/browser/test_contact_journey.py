"""A SPOC's journey in a real browser: sign in from the emailed link, add a technical contact,
propose a new SPOC, raise a support request. The worker sends the sign-in email."""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from requests_app.models import ContactRole, SpocChange, State
from support.models import SupportRequest
from tests.conftest import sent_mail, wait_for
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db(transaction=True)


def sign_in_link_path(address: str) -> str:
    messages = wait_for(
        lambda: [m for m in sent_mail() if address in m["To"] and "sign-in link" in m["Subject"]],
        timeout=30,
        what="the sign-in email",
    )
    match = re.search(r"https?://\S+/account/sign-in/link/[\w-]+/", messages[0].get_content())
    assert match, "the sign-in email has no link"
    return urlsplit(match.group(0)).path


def test_a_spoc_signs_in_keeps_the_contacts_current_and_asks_for_support(
    page: Page, live_server, celery_worker_process
):
    req = FederationRequestFactory(state=State.FEDERATED, organisation__name="Harbourside Health")
    spoc_email = req.contacts.get(role=ContactRole.SPOC).email
    live = live_server.url

    # Sign in from the email: the link opens a page with a button; pressing it signs in.
    page.goto(live + "/")
    page.get_by_role("link", name="sign in").click()
    page.get_by_label("Email address").fill(spoc_email)
    page.get_by_role("button", name="Email me a sign-in link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Check your email")
    page.goto(live + sign_in_link_path(spoc_email))
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your organisation's requests")

    # Add a technical contact.
    page.get_by_role("link", name=req.reference).click()
    page.get_by_role("link", name="Add a technical contact").click()
    page.get_by_label("Full name").fill("Nia New")
    page.get_by_label("Job title").fill("Teams Engineer")
    page.get_by_label("Email address").fill("nia@harbourside.example")
    page.get_by_label("Phone number (optional)").fill("0113 496 0000")
    page.get_by_role("button", name="Add the contact").click()
    expect(page.locator("#contact-list")).to_contain_text("Nia New")

    # Propose a new SPOC: shown as waiting for the Feedback team.
    page.get_by_role("link", name="Propose a new SPOC").click()
    page.get_by_label("Full name").fill("Pat Successor")
    page.get_by_label("Job title").fill("Head of IT")
    page.get_by_label("Email address").fill("pat@harbourside.example")
    page.get_by_role("button", name="Propose the new SPOC").click()
    expect(page.locator("#pending-spoc-change")).to_contain_text("Pat Successor")
    assert SpocChange.objects.get().email == "pat@harbourside.example"

    # Raise a support request, first forgetting the confirmation the form needs.
    page.get_by_role("link", name="Your organisation's requests").first.click()
    page.get_by_role("link", name="Support requests").click()
    page.get_by_role("button", name="Raise a support request").click()
    page.get_by_label("Cannot message an NHSmail user").check()
    page.get_by_label("Describe the problem").fill("Chats to nhs.net users are blocked.")
    started = page.get_by_role("group", name="When did it start?")
    started.get_by_label("Day").fill("20")
    started.get_by_label("Month").fill("11")
    started.get_by_label("Year").fill("2026")
    page.get_by_role("button", name="Send the support request").click()
    summary = page.locator(".nhsuk-error-summary")
    expect(summary).to_be_focused()
    expect(summary).to_contain_text("Confirm that your own IT team has tried to fix this first")
    page.get_by_label("Our own IT team has tried to fix this first").check()
    page.get_by_role("button", name="Send the support request").click()
    support = SupportRequest.objects.get()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        f"Support request {support.reference}"
    )
    expect(page.locator("#support-status")).to_have_text("Open")

    # Signing out ends the session: the account pages ask to sign in again.
    page.get_by_role("button", name="Sign out").click()
    page.goto(live + "/account/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in")
