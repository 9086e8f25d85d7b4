"""A request's whole life in a real browser: the public form, the Feedback team's admin, the
allow list export and the requester's status page; and withdrawing with the keyboard alone.

The live_server and the Celery worker share the test PostgreSQL database; the worker renders
the agreement PDF and sends the emails.
"""

import hashlib
import json
import re
from urllib.parse import urlsplit

import pytest
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfWriter

from agreements.models import EvidenceCriterion
from agreements.selectors import current_agreement
from requests_app.models import FederationRequest, State
from tests.browser.staff import sign_in
from tests.conftest import sent_mail, wait_for, wait_for_check_runs
from tests.factories import UserFactory
from tests.helpers import confirmation_link_path, submit_lakeside_care

pytestmark = pytest.mark.django_db(transaction=True)

DOMAINS = ["harbourside-health.example.org.uk", "hhp-teams.example.org.uk"]
REQUESTER_EMAIL = "rowan.requester@harbourside-health.example.org.uk"
SPOC_EMAIL = "sam.spoc@harbourside-health.example.org.uk"
TIMELINE = [
    "Submitted",
    "Reviewed",
    "Agreement sent",
    "Agreement signed",
    "Evidence verified",
    "Federated",
]


@pytest.fixture
def evidence_criteria(db):
    """The required DCB1596 criteria (seeded after every migrate and flush)."""
    criteria = list(EvidenceCriterion.objects.filter(required=True).order_by("position"))
    assert criteria, "no required DCB1596 criteria: the evidence steps would prove nothing"
    return criteria


def small_pdf(path, title: str):
    """A one-page PDF, enough for the upload checks (starts %PDF-, has a page)."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": title})
    with path.open("wb") as handle:
        writer.write(handle)
    return path


def tab_to(page: Page, target, *, limit: int = 60) -> None:
    """Press Tab until target has the focus, as a keyboard user would."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        if target.evaluate("element => element === document.activeElement"):
            return
    pytest.fail(f"{target} never took the focus after {limit} presses of Tab")


def mail_to(address: str, subject_part: str) -> list:
    return [m for m in sent_mail() if address in m["To"] and subject_part in m["Subject"]]


def status_path_from_email(message) -> str:
    """The private status link's path (the email's host is SITE_URL, not the live server)."""
    match = re.search(r"https?://\S+/status/[\w-]+/", message.get_content())
    assert match, "the confirmation email has no status link"
    return urlsplit(match.group(0)).path


# -- helpers for the admin ------------------------------------------------------------------


def expect_state(page: Page, label: str) -> None:
    expect(page.locator("#lifecycle-actions")).to_contain_text(f"State: {label}")


def expect_success(page: Page, text: str) -> None:
    expect(page.locator(".messagelist .error")).to_have_count(0)
    expect(page.locator(".messagelist .success")).to_contain_text(text)


def open_action(page: Page, action: str, heading: str) -> None:
    page.locator(f"#action-{action}").click()
    expect(page).to_have_title(re.compile(re.escape(heading)))


# -- the journeys ---------------------------------------------------------------------------


def fill_request_form(page: Page, *, domains: str, spoc_email: str) -> None:
    page.get_by_label("Organisation name").fill("Harbourside Health Partnership")
    page.get_by_label("ODS code (optional)").fill("")
    page.get_by_role("group", name="Does your organisation already use NHSmail?").get_by_role(
        "radio", name="No"
    ).check()
    page.get_by_label("Domains to federate").fill(domains)
    page.get_by_label("Why do you need federation?").fill(
        "Our community teams need Teams chat and calls with GP practices on NHSmail."
    )
    about_you = page.get_by_role("group", name="About you")
    about_you.get_by_label("Your full name").fill("Rowan Requester")
    about_you.get_by_label("Your email address").fill(REQUESTER_EMAIL)
    spoc = page.get_by_role("group", name="Single point of contact (SPOC)")
    spoc.get_by_label("Full name").fill("Sam Spoc")
    spoc.get_by_label("Job title").fill("Head of IT")
    spoc.get_by_label("Email address").fill(spoc_email)
    technical = page.get_by_role("group", name="Technical contact")
    technical.get_by_label("Full name").fill("Tess Tech")
    technical.get_by_label("Job title").fill("Teams Administrator")
    technical.get_by_label("Email address").fill("tess@harbourside-health.example.org.uk")


def submit_request(page: Page, live_url: str) -> str:
    """A new user makes a request, trips over the validation, fixes it; returns the reference."""
    page.goto(live_url + "/")
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Federate your organisation's Microsoft Teams with NHSmail"
    )
    page.get_by_role("button", name="Start now").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Request Teams federation")

    # First try: a public suffix as the domain, and no SPOC email address.
    fill_request_form(page, domains="co.uk", spoc_email="")
    page.get_by_role("button", name="Send request").click()

    expect(page).to_have_title(re.compile(r"^Error: "))
    summary = page.get_by_role("alert")
    expect(summary.get_by_role("heading", name="There is a problem")).to_be_visible()
    expect(summary).to_be_focused()  # the design system's script moves focus to the summary
    domain_link = summary.get_by_role("link", name=re.compile("public suffix"))
    spoc_link = summary.get_by_role("link", name="Enter the SPOC's email address")
    expect(domain_link).to_have_attribute("href", "#id_domains")
    expect(spoc_link).to_have_attribute("href", "#id_spoc_email")

    domains_box = page.get_by_label("Domains to federate")
    spoc_email = page.get_by_role("group", name="Single point of contact (SPOC)").get_by_label(
        "Email address"
    )
    # Each field carries its own message, announced with it through aria-describedby.
    expect(domains_box).to_have_accessible_description(
        re.compile(r"Error:\s+“co\.uk” is a public suffix")
    )
    expect(spoc_email).to_have_accessible_description(
        re.compile(r"Error:\s+Enter the SPOC's email address")
    )
    # What the user typed is kept.
    expect(domains_box).to_have_value("co.uk")
    expect(page.get_by_label("Organisation name")).to_have_value("Harbourside Health Partnership")

    # The summary's links take the user to the field.
    domain_link.click()
    expect(domains_box).to_be_focused()
    spoc_link.click()
    expect(spoc_email).to_be_focused()

    # Fix both and send again; one domain in capitals, as people type them.
    domains_box.fill(f"{DOMAINS[0]}\n{DOMAINS[1].upper()}")
    spoc_email.fill(SPOC_EMAIL)
    page.get_by_role("button", name="Send request").click()

    # Nothing is sent on until the requester confirms their address from the emailed link.
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Confirm your email address to send the request"
    )
    link_email = wait_for(
        lambda: mail_to(REQUESTER_EMAIL, "Confirm your email address"), what="the link"
    )[0]
    assert not mail_to(SPOC_EMAIL, "")
    page.goto(live_url + confirmation_link_path(link_email.get_content()))
    page.get_by_role("button", name="Confirm and send the request").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Request sent")
    expect(page).not_to_have_title(re.compile("Error"))
    reference = page.locator("#reference").inner_text()
    assert re.fullmatch(r"FR-\d{6}", reference), reference
    expect(page.get_by_role("link", name="See the status of your request")).to_be_visible()
    return reference


def find_in_changelist(page: Page, live_url: str, reference: str) -> None:
    page.goto(live_url + "/admin/requests_app/federationrequest/")
    page.get_by_role("textbox", name="Search").fill(reference)
    page.get_by_role("button", name="Search").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("Submitted")
    expect(rows.first).to_contain_text(DOMAINS[0])
    rows.first.get_by_role("link", name=reference).click()
    expect(page.get_by_role("heading", name="What you can do now")).to_be_visible()


def test_a_request_from_the_first_form_to_the_allow_list(
    page: Page, live_server, celery_worker_process, evidence_criteria, tmp_path
):
    live_url = live_server.url
    reference = submit_request(page, live_url)
    req = FederationRequest.objects.get(reference=reference)
    assert sorted(req.domains.values_list("name", flat=True)) == sorted(DOMAINS)

    # The worker emails the requester a confirmation with the private status link.
    confirmation = wait_for(
        lambda: mail_to(REQUESTER_EMAIL, reference), timeout=30, what="the confirmation email"
    )[0]
    status_path = status_path_from_email(confirmation)
    assert status_path == f"/status/{req.status_token}/"

    # The worker runs the domain checks a review relies on.
    wait_for_check_runs(req)

    # -- the Feedback team ---------------------------------------------------------------
    UserFactory(username="fiona.feedback", groups=["Feedback team"])
    sign_in(page, live_url, "fiona.feedback")
    find_in_changelist(page, live_url, reference)
    expect_state(page, "Submitted")
    expect(page.locator("#action-add-evidence")).to_have_count(0)  # no agreement yet
    # What the team reviews: the domains, and the SPOC the agreement goes to.
    expect(page.locator("#domains-group")).to_contain_text(DOMAINS[1])
    expect(page.locator("#contacts-group")).to_contain_text(SPOC_EMAIL)
    # No DNS is served to this test: the checks could not be made, which is not a pass.
    expect(page.locator("#domain-checks")).to_contain_text(f"{DOMAINS[1]}: Could not be checked")

    # Review: accepting checks that could not be made takes a reason, kept in the audit log.
    open_action(page, "review", f"Review: {reference}")
    page.get_by_label("The domains meet the initial review criteria").check()
    page.get_by_label("Review notes").fill("Both domains resolve; MX and DMARC records found.")
    page.get_by_label("Why accept despite domain checks that failed or could not be made?").fill(
        "Checked by hand: the records are there."
    )
    page.get_by_role("button", name="Review").click()
    expect_success(page, f"{reference} is reviewed.")
    expect_state(page, "Reviewed")
    expect(page.locator("#action-add-evidence")).to_have_count(0)

    # Send the agreement: the worker renders the PDF, then the request moves on.
    open_action(page, "send_agreement", f"Send the agreement (FPA): {reference}")
    page.get_by_role("button", name="Send the agreement (FPA)").click()
    expect_success(page, f"The agreement for {reference} is being rendered")
    expect(page.locator("#action-send_agreement")).to_have_count(0)  # no second click

    def agreement_sent():
        page.reload()
        return "State: Agreement sent" in page.locator("#lifecycle-actions").inner_text()

    wait_for(agreement_sent, timeout=60, interval=0.5, what="the worker to send the agreement")
    expect_state(page, "Agreement sent")
    expect(page.get_by_role("link", name="Download").first).to_be_visible()  # the issued FPA
    wait_for(
        lambda: mail_to(REQUESTER_EMAIL, "Federation Partnering Agreement"),
        timeout=30,
        what="the agreement email",
    )

    # Evidence for every required DCB1596 criterion, taken once the agreement is out.
    for criterion in evidence_criteria:
        open_action(page, "add-evidence", f"Add evidence: {reference}")
        page.get_by_label("DCB1596 criterion").select_option(label=criterion.title)
        page.get_by_label("Evidence (PDF)").set_input_files(
            small_pdf(tmp_path / f"{criterion.code}.pdf", criterion.title)
        )
        page.get_by_label("Notes (optional)").fill(f"Sent by the SPOC for {criterion.code}.")
        page.get_by_role("button", name="Add evidence").click()
        expect_success(page, "The evidence was added.")
        expect_state(page, "Agreement sent")
    # Evidence is reviewed only once the agreement is signed.
    expect(page.get_by_role("link", name="Verify", exact=True)).to_have_count(0)

    # Record the signed agreement.
    open_action(page, "record_signature", f"Record the signed agreement: {reference}")
    page.get_by_label("Signed agreement (PDF)").set_input_files(
        small_pdf(tmp_path / "signed-fpa.pdf", "Signed FPA")
    )
    page.get_by_label("Signatory's full name").fill("Dana Director")
    page.get_by_label("Signatory's job title").fill("Director of Digital")
    page.get_by_label("Signed on").fill(timezone.localdate().isoformat())
    page.get_by_label("I have checked that the signatory holds a Director-level role").check()
    page.get_by_label("I have compared the signed copy with the agreement as issued").check()
    page.get_by_role("button", name="Record the signed agreement").click()
    expect_success(page, f"{reference} is signed.")
    expect_state(page, "Agreement signed")
    expect(page.locator("#lifecycle-actions")).to_contain_text("Evidence still to verify")
    wait_for(
        lambda: mail_to(REQUESTER_EMAIL, f"signed agreement for {reference}"),
        timeout=30,
        what="the signed-agreement email",
    )

    # Marking the evidence verified too early is refused with a sentence, not an error page.
    open_action(page, "verify_evidence", f"Mark evidence verified: {reference}")
    page.get_by_role("button", name="Mark evidence verified").click()
    expect(page.locator(".messagelist .error")).to_contain_text(
        f"Evidence is not yet verified for: {evidence_criteria[0].title}"
    )
    expect_state(page, "Agreement signed")

    # Verify each evidence item from the links in the evidence table.
    verify_links = page.get_by_role("link", name="Verify", exact=True)
    expect(verify_links).to_have_count(len(evidence_criteria))
    for remaining in range(len(evidence_criteria), 0, -1):
        expect(verify_links).to_have_count(remaining)
        verify_links.first.click()
        expect(page).to_have_title(re.compile(r"^Verify evidence: "))
        page.get_by_role("button", name="Verify evidence").click()
        expect_success(page, "verified.")
        expect_state(page, "Agreement signed")
    expect(verify_links).to_have_count(0)
    expect(page.locator("#lifecycle-actions")).not_to_contain_text("Evidence still to verify")

    # Mark the evidence verified.
    open_action(page, "verify_evidence", f"Mark evidence verified: {reference}")
    page.get_by_role("button", name="Mark evidence verified").click()
    expect_success(page, f"The evidence for {reference} is verified.")
    expect_state(page, "Evidence verified")

    # Four eyes: the verifier may not federate, so a colleague signs in to do it.
    page.get_by_role("button", name="Log out").click()
    UserFactory(username="fred.federator", groups=["Feedback team"])
    sign_in(page, live_url, "fred.federator")
    page.goto(live_url + f"/admin/requests_app/federationrequest/{req.pk}/change/")
    expect_state(page, "Evidence verified")

    # Federate from today.
    open_action(page, "federate", f"Federate: {reference}")
    today = timezone.localdate()
    effective_date = page.get_by_label("Effective date")
    expect(
        page.get_by_text("The date the domains join the allow list (YYYY-MM-DD).")
    ).to_be_visible()
    # Soft: the journey goes on with the prefilled value whatever its format.
    expect.soft(
        effective_date,
        "the prefilled effective date should be in the YYYY-MM-DD form its hint asks for",
    ).to_have_value(today.isoformat())
    page.get_by_role("button", name="Federate").click()
    expect_success(page, f"{reference} is federated")
    expect_state(page, "Federated")
    # What is left once federated: the lifecycle after federation (suspend), and taking one of
    # the two domains off.
    expect(page.locator("#lifecycle-actions li")).to_have_text(["Suspend", "Remove a domain"])

    # -- the allow list -----------------------------------------------------------------------
    export = tmp_path / "allowlist.json"
    call_command("export_allowlist", "--format", "json", "--output", str(export))
    entries = {row["domain"]: row for row in json.loads(export.read_text())}
    for domain in DOMAINS:
        assert entries[domain]["request_reference"] == reference
        assert entries[domain]["effective_date"] == today.isoformat()

    # -- the requester's status page ----------------------------------------------------------
    page.goto(live_url + status_path)
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {reference}")
    expect(page.locator("#state")).to_have_text("Federated")
    expect(page.get_by_text(f"On NHSmail's allow list from {today:%-d %B %Y}.")).to_be_visible()
    timeline = page.locator("ol.portal-timeline > li strong")
    expect(timeline).to_have_text(TIMELINE)
    expect(page.get_by_role("link", name="withdraw this request")).to_have_count(0)

    agreement = current_agreement(FederationRequest.objects.get(pk=req.pk))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the agreement (PDF)").click()
    download = download_info.value
    assert download.suggested_filename == f"{reference}-federation-partnering-agreement.pdf"
    pdf = download.path().read_bytes()
    assert pdf.startswith(b"%PDF-")
    assert hashlib.sha256(pdf).hexdigest() == agreement.pdf_sha256

    wait_for(
        lambda: mail_to(REQUESTER_EMAIL, f"Your domains are federated with NHSmail ({reference})"),
        timeout=30,
        what="the federated email",
    )


def test_the_requester_withdraws_with_the_keyboard_alone(
    page: Page, live_server, celery_worker_process
):
    req = submit_lakeside_care()
    page.goto(f"{live_server.url}/status/{req.status_token}/")
    expect(page.locator("#state")).to_have_text("Submitted")

    tab_to(page, page.get_by_role("link", name="withdraw this request"))
    page.keyboard.press("Enter")
    expect(page.get_by_role("heading", level=1)).to_have_text(f"Withdraw request {req.reference}")

    reason = page.get_by_label("Why are you withdrawing the request? (optional)")
    tab_to(page, reason)
    page.keyboard.type("We moved to NHSmail for everyone instead.")
    tab_to(page, page.get_by_role("button", name="Withdraw the request"))
    page.keyboard.press("Enter")

    expect(page.get_by_role("heading", level=1)).to_have_text(f"Request {req.reference}")
    expect(page.locator("#state")).to_have_text("Withdrawn")
    expect(page.locator("ol.portal-timeline > li strong")).to_have_text(["Submitted", "Withdrawn"])
    expect(page.get_by_role("link", name="withdraw this request")).to_have_count(0)
    req.refresh_from_db()
    assert req.state == State.WITHDRAWN
    assert req.closed_reason == "We moved to NHSmail for everyone instead."
    assert not req.domains.filter(is_live=True).exists()  # the domain may be requested again
    wait_for(
        lambda: mail_to("lee@lakeside-care.example.org.uk", "has been withdrawn"),
        timeout=30,
        what="the withdrawal email",
    )
