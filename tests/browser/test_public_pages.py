"""Every page an organisation sees, in every state of its request, checked by axe-core in
Chromium: no violation of any impact (WCAG 2.2 A and AA, and axe's best practices)."""

import json

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from playwright.sync_api import Page

from agreements.models import EvidenceCriterion
from requests_app.models import Contact, ContactRole, PendingSubmission, State
from requests_app.services.submissions import submission_send_link
from tests.accounts.helpers import sign_in
from tests.browser.axe import violations
from tests.browser.test_journey import fill_request_form
from tests.factories import UserFactory, request_in
from tests.helpers import confirmation_link_path

pytestmark = pytest.mark.django_db(transaction=True)


def signed_in_as(page: Page, live_url: str, email: str) -> None:
    """The browser takes the session of a contact signed in by emailed link."""
    client = Client()
    sign_in(client, email)
    page.context.clear_cookies()
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_url}]
    )


def test_every_page_an_organisation_sees_passes_axe_in_every_state(page: Page, live_server):
    live = live_server.url
    staff = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    found: dict[str, list[str]] = {}

    def check(name: str, path: str) -> None:
        page.goto(live + path)
        found[name] = violations(page)

    check("start", reverse("requests_app:start"))
    check("request form", reverse("requests_app:request_form"))
    page.get_by_role("button", name="Send request").click()
    page.locator(".nhsuk-error-summary").wait_for()
    found["request form with errors"] = violations(page)
    fill_request_form(page, domains="harbourside.example.org.uk", spoc_email="sam@example.org.uk")
    page.get_by_role("button", name="Send request").click()
    page.get_by_role("button", name="Send the link again").wait_for()
    found["check your email"] = violations(page)
    submission = PendingSubmission.objects.get()
    submission_send_link(submission_id=submission.pk, link_number=1)
    check("confirm the request", confirmation_link_path(mail.outbox[-1].body))
    page.get_by_role("button", name="Confirm and send the request").click()
    page.locator("#reference").wait_for()
    found["request sent"] = violations(page)
    check("used confirmation link", confirmation_link_path(mail.outbox[-1].body))
    check("sign in", reverse("accounts:sign_in"))
    check("verify", reverse("agreements:verify"))
    check("not found", "/no-such-page/")
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    for state in State:
        req = request_in(state, staff)
        Contact.objects.create(
            request=req,
            role=ContactRole.SIGNATORY,
            name="Dana Director",
            job_title="Director of Digital",
            email=f"dana{req.pk}@harbourside.example",
        )
        check(f"status {state}", reverse("requests_app:status", args=[req.status_token]))
        signed_in_as(page, live, req.contacts.get(role=ContactRole.SPOC).email)
        check(f"request page {state}", reverse("portal:request", args=[req.reference]))
        if state in (State.FPA_SENT, State.SIGNED):
            check(
                f"evidence {state}",
                reverse("portal:evidence_upload", args=[req.reference, dmarc.pk]),
            )
        if state == State.FPA_SENT:
            check("add a contact", reverse("portal:contact_add", args=[req.reference]))
            signed_in_as(page, live, f"dana{req.pk}@harbourside.example")
            check("sign", reverse("portal:sign", args=[req.reference]))
        if state == State.FEDERATED:
            signed_in_as(page, live, req.contacts.get(role=ContactRole.SPOC).email)
            check("add a domain", reverse("portal:domain_add", args=[req.reference]))
            page.get_by_role("button", name="Ask to add the domain").click()
            page.locator(".nhsuk-error-summary").wait_for()
            found["add a domain with errors"] = violations(page)
            page.get_by_label("Domain").fill("harbourside-new.example.org.uk")
            page.get_by_role("button", name="Ask to add the domain").click()
            page.locator("#domain-addition").wait_for()
            found["request page, a domain being added"] = violations(page)
            check("support", reverse("support:list"))
            check("new support request", reverse("support:new"))
            page.get_by_role("button", name="Send the support request").click()
            page.locator(".nhsuk-error-summary").wait_for()
            found["support request with errors"] = violations(page)

    problems = {name: found_here for name, found_here in found.items() if found_here}
    assert problems == {}, json.dumps(problems, indent=1)
