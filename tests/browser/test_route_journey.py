"""The organisation's whole route, driven from what the portal shows: the start page, the links
in its emails and the task list on the request's page. No URL is typed but the start page's.

The Feedback team's part (review, send the agreement, verify, federate) goes through the same
services the admin calls; tests/browser/test_journey.py drives the admin itself.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, expect

from agreements.models import EvidenceCriterion, EvidenceItem
from agreements.services.agreements import agreement_issue
from agreements.services.evidence import evidence_verify, request_verify_evidence
from requests_app.models import FederationRequest
from requests_app.services.lifecycle import request_federate, request_review
from tests.browser.test_journey import small_pdf
from tests.conftest import sent_mail, wait_for, wait_for_check_runs
from tests.factories import UserFactory
from tests.helpers import use_seal

pytestmark = pytest.mark.django_db(transaction=True)

ROWAN = "rowan@lighthouse-care.example.org.uk"  # the requester, who is also the SPOC
DANA = "dana@lighthouse-care.example.org.uk"  # the Director who signs


def email_to(address: str, subject_part: str):
    """The newest email to address whose subject holds subject_part, once the worker sent it."""
    return wait_for(
        lambda: [m for m in sent_mail() if address in m["To"] and subject_part in m["Subject"]],
        what=f"the email “{subject_part}” to {address}",
    )[-1]


def link_in(message, pattern: str) -> str:
    """The path of the link in an email (its host is SITE_URL, not the live server)."""
    body = message.get_body(preferencelist=("plain",)).get_content()  # past any attachment
    match = re.search(rf"https?://\S*{pattern}\S*", body)
    assert match, f"no link matching {pattern} in “{message['Subject']}”"
    return urlsplit(match.group(0)).path


def sign_in_from(page: Page, live: str, message, address: str) -> None:
    """Follow an email's sign-in link, ask for a link, and follow the one that arrives."""
    page.goto(live + link_in(message, "/account/sign-in/"))
    page.get_by_label("Email address").fill(address)
    before = len([m for m in sent_mail() if "sign-in link" in m["Subject"]])
    page.get_by_role("button", name="Email me a sign-in link").click()
    wait_for(
        lambda: len([m for m in sent_mail() if "sign-in link" in m["Subject"]]) > before,
        what=f"a sign-in link for {address}",
    )
    page.goto(live + link_in(email_to(address, "sign-in link"), "/account/sign-in/link/"))
    page.get_by_role("button", name="Sign in").click()


def task(page: Page, name: str):
    return page.locator("#task-list li").filter(has_text=name).first


def expect_task(page: Page, name: str, status: str) -> None:
    expect(task(page, name).locator(".nhsuk-task-list__status")).to_have_text(status)


def upload_evidence(page: Page, criterion: EvidenceCriterion, path) -> None:
    task(page, f"Evidence: {criterion.title}").get_by_role("link").click()
    page.get_by_label("Evidence file").set_input_files(small_pdf(path, criterion.title))
    page.get_by_role("button", name="Upload the evidence").click()
    expect(page.locator("#task-list")).to_be_visible()


def test_an_organisation_follows_its_route_from_the_task_list_alone(
    page: Page, browser: Browser, live_server, celery_worker_process, settings, seal_paths, tmp_path
):
    use_seal(settings, seal_paths)
    live = live_server.url
    fiona = UserFactory(username="fiona.feedback", groups=["Feedback team"])
    femi = UserFactory(username="femi.feedback", groups=["Feedback team"])
    required = list(EvidenceCriterion.objects.filter(required=True).order_by("position"))
    assert len(required) >= 2, "the route needs evidence before and after signing"

    # -- the requester, who is the SPOC: the form, then the emailed confirmation --------------
    page.goto(live + "/")
    page.get_by_role("button", name="Start now").click()
    page.get_by_label("Organisation name").fill("Lighthouse Care")
    page.get_by_role("group", name="Does your organisation already use NHSmail?").get_by_role(
        "radio", name="No"
    ).check()
    page.get_by_label("Domains to federate").fill("lighthouse-care.example.org.uk")
    page.get_by_label("Why do you need federation?").fill("Our nurses talk to GP practices.")
    about_you = page.get_by_role("group", name="About you")
    about_you.get_by_label("Your full name").fill("Rowan Requester")
    about_you.get_by_label("Your email address").fill(ROWAN)
    spoc = page.get_by_role("group", name="Single point of contact (SPOC)")
    spoc.get_by_label("I am the SPOC").check()
    spoc.get_by_label("Job title").fill("Head of IT")
    technical = page.get_by_role("group", name="Technical contact")
    technical.get_by_label("Full name").fill("Tess Tech")
    technical.get_by_label("Job title").fill("Teams Administrator")
    technical.get_by_label("Email address").fill("tess@lighthouse-care.example.org.uk")
    page.get_by_role("button", name="Send request").click()
    expect(page).to_have_title(re.compile("^Confirm your email address"))

    page.goto(live + link_in(email_to(ROWAN, "Confirm your email address"), "/request/confirm/"))
    page.get_by_role("button", name="Confirm and send the request").click()
    reference = page.locator("#reference").inner_text()
    req = FederationRequest.objects.get(reference=reference)
    email_to(ROWAN, reference)  # now, and not before, the request's own email

    # -- the Feedback team reviews and sends the agreement -----------------------------------
    wait_for_check_runs(req)
    request_review(
        request_id=req.pk,
        actor=fiona,
        notes="Reviewed.",
        override_reason="No DNS is served to this test; the domain was checked by hand.",
    )
    agreement_issue(request_id=req.pk, actor=fiona)
    agreement_email = email_to(ROWAN, "Federation Partnering Agreement")

    # -- the SPOC signs in from the agreement's email and works from the task list -----------
    sign_in_from(page, live, agreement_email, ROWAN)
    page.get_by_role("link", name=reference).click()
    expect(page.locator("#state")).to_have_text("Agreement sent")
    expect_task(page, "Name the signatory", "To do")
    expect_task(page, "Sign the Federation Partnering Agreement", "Waiting for the signatory")

    task(page, "Name the signatory").get_by_role("link").click()
    page.get_by_label("Full name").fill("Dana Director")
    page.get_by_label("Job title").fill("Director of Digital")
    page.get_by_label("Email address").fill(DANA)
    page.get_by_role("button", name="Add the contact").click()
    expect_task(page, "Name the signatory", "Completed")

    # Evidence while the signature is awaited.
    upload_evidence(page, required[0], tmp_path / "first.pdf")
    expect_task(page, f"Evidence: {required[0].title}", "Waiting for review")

    # -- the signatory, in a browser of their own, from the invitation email ----------------
    invitation = email_to(DANA, "Please sign the Federation Partnering Agreement")
    director = browser.new_context().new_page()
    sign_in_from(director, live, invitation, DANA)
    director.get_by_role("link", name=reference).click()
    task(director, "Sign the Federation Partnering Agreement").get_by_role("link").click()
    director.get_by_label("Your full name").fill("Dana Director")
    director.get_by_label("Your job title").fill("Director of Digital")
    for attestation in (
        "I hold a Director-level role in my organisation",
        "I have read the Federation Partnering Agreement as issued",
        "I am authorised to sign it on behalf of my organisation",
        "My organisation meets the DCB1596 secure email standard",
    ):
        director.get_by_label(attestation).check()
    director.get_by_role("button", name="Sign the agreement").click()
    expect(director.locator("#state")).to_have_text("Agreement signed")
    director.context.close()

    # -- the SPOC uploads the rest of the evidence after signing ------------------------------
    page.reload()
    expect_task(page, "Sign the Federation Partnering Agreement", "Completed")
    for number, criterion in enumerate(required[1:], start=2):
        upload_evidence(page, criterion, tmp_path / f"evidence-{number}.pdf")

    # -- the Feedback team verifies and federates (four eyes) ---------------------------------
    for item in EvidenceItem.objects.filter(request=req):
        evidence_verify(item_id=item.pk, actor=fiona)
    request_verify_evidence(request_id=req.pk, actor=fiona)
    request_federate(request_id=req.pk, actor=femi)

    # -- the SPOC sets up Teams from the task list -------------------------------------------
    page.reload()
    expect(page.locator("#state")).to_have_text("Federated")
    expect_task(page, "Domains on NHSmail's allow list", "Completed")
    task(page, "Set up Teams for NHSmail").get_by_role("link").click()
    for box in page.locator("#teams-setup ~ form .nhsuk-checkboxes__input").all():
        box.check()
    page.get_by_role("button", name="Confirm the ticked steps").click()
    expect_task(page, "Set up Teams for NHSmail", "Completed")
