"""The public pages: start, request form, confirmation, status, agreement download, withdraw."""

import hashlib
import html
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfWriter

from requests_app.audit import REQUESTER_LABEL
from requests_app.models import (
    AuditEvent,
    Channel,
    ContactRole,
    FederationRequest,
    PendingSubmission,
    RequestedDomain,
    State,
)
from requests_app.services import lifecycle
from requests_app.services.contacts import ContactDetails
from tests.factories import AgreementFactory, FederationRequestFactory
from tests.helpers import confirm_submission, finish_check_runs, reload

pytestmark = pytest.mark.django_db

START_URL = reverse("requests_app:start")
FORM_URL = reverse("requests_app:request_form")
CONFIRMATION_URL = reverse("requests_app:confirmation")
CHECK_EMAIL_URL = reverse("requests_app:check_email")


# -- helpers -------------------------------------------------------------------------------------


def text(response) -> str:
    """The page as a person reads it: entities decoded, runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def title(response) -> str:
    match = re.search(r"<title>(.*?)</title>", response.content.decode(), re.S)
    return html.unescape(match.group(1)).strip()


def error_summary(response) -> list[tuple[str, str]]:
    """(href, message) for each link in the error summary, in page order."""
    page = response.content.decode()
    match = re.search(r'<div class="nhsuk-error-summary".*?</ul>', page, re.S)
    if not match:
        return []
    return [
        (href, html.unescape(message).strip())
        for href, message in re.findall(r'<a href="([^"]*)">(.*?)</a>', match.group(0), re.S)
    ]


def field_error(response, field_id: str) -> str:
    """The error message shown next to a field, or ""."""
    match = re.search(
        rf'<span class="nhsuk-error-message" id="{field_id}-error">'
        r'<span class="nhsuk-u-visually-hidden">Error:</span>(.*?)</span>',
        response.content.decode(),
        re.S,
    )
    return html.unescape(match.group(1)).strip() if match else ""


def valid_form(**overrides) -> dict:
    data = {
        "organisation_name": "Ashworth Community Care",
        "ods_code": "ac1",
        "has_nhsmail_presence": "no",
        "domains": "Ashworth-Care.org.uk\r\nbücher.example.org.uk",
        "justification": "Our district nurses talk to GP practices on NHSmail.",
        "requester_name": "Robin Requester",
        "requester_email": "robin@ashworth-care.org.uk",
        "spoc_name": "Sam Spoc",
        "spoc_job_title": "IT Manager",
        "spoc_email": "sam.spoc@ashworth-care.org.uk",
        "spoc_phone": "01234 567890",
        "technical_name": "Tess Tech",
        "technical_job_title": "Teams Administrator",
        "technical_email": "tess.tech@ashworth-care.org.uk",
        "technical_phone": "",
    }
    data.update(overrides)
    return data


def submitted_request(domains=("ashworth-care.org.uk",)) -> FederationRequest:
    return lifecycle.request_submit(
        organisation_name="Ashworth Community Care",
        ods_code="AC1",
        has_nhsmail_presence=False,
        domains=list(domains),
        justification="Teams federation",
        requester_name="Robin Requester",
        requester_email="robin@ashworth-care.org.uk",
        spoc=ContactDetails("Sam Spoc", "IT Manager", "sam.spoc@ashworth-care.org.uk"),
        technical_contact=ContactDetails(
            "Tess Tech", "Teams Administrator", "tess.tech@ashworth-care.org.uk"
        ),
    )


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def sent_agreement(req, *, sent=True):
    content = pdf_bytes()
    return AgreementFactory(
        request=req,
        pdf=ContentFile(content, name="fpa.pdf"),
        pdf_sha256=hashlib.sha256(content).hexdigest(),
        rendered_at=timezone.now(),
        sent_at=timezone.now() if sent else None,
    )


def status_url(req) -> str:
    return reverse("requests_app:status", args=[req.status_token])


def download_url(req) -> str:
    return reverse("agreements:status_download", args=[req.status_token])


def withdraw_url(req) -> str:
    return reverse("requests_app:withdraw", args=[req.status_token])


def download(response) -> bytes:
    # The test client closes the file once the content is read; closing the response again
    # would send request_finished and close the test's database connection.
    return b"".join(response.streaming_content)


# -- start page ----------------------------------------------------------------------------------


def test_the_start_page_explains_the_process_and_links_to_the_form(client):
    response = client.get(START_URL)

    assert response.status_code == 200
    page = text(response)
    assert "<h1>Federate your organisation's Microsoft Teams with NHSmail</h1>" in page
    assert "Federation Partnering Agreement (FPA)" in page
    assert "Director-level signatory" in page
    assert "DCB1596 secure email standard" in page
    assert "DMARC at quarantine or stricter" in page
    assert re.search(rf'<a href="{FORM_URL}"[^>]*class="nhsuk-button"[^>]*>Start now</a>', page)


# -- the request form ----------------------------------------------------------------------------


def test_the_empty_request_form_shows_no_errors(client):
    response = client.get(FORM_URL)

    assert response.status_code == 200
    assert title(response) == "Request Teams federation – Teams federation with NHSmail"
    assert error_summary(response) == []
    assert 'name="csrfmiddlewaretoken"' in response.content.decode()
    for legend in (
        "Your organisation",
        "What to federate",
        "About you",
        "Single point of contact (SPOC)",
        "Technical contact",
    ):
        assert f'<h2 class="nhsuk-fieldset__heading">{legend}</h2>' in text(response)


def test_a_valid_request_is_recorded_and_confirmed_with_its_reference(client):
    response = client.post(FORM_URL, valid_form())

    assert response.status_code == 302
    assert response["Location"] == CHECK_EMAIL_URL
    req = confirm_submission(client)
    assert req.organisation.name == "Ashworth Community Care"
    assert req.organisation.ods_code == "AC1"
    assert req.organisation.has_nhsmail_presence is False
    # Stored as lower-case A-labels, whatever the person typed.
    assert sorted(req.domains.values_list("name", flat=True)) == [
        "ashworth-care.org.uk",
        "xn--bcher-kva.example.org.uk",
    ]
    contacts = {c.role: (c.name, c.job_title, c.email, c.phone) for c in req.contacts.all()}
    assert contacts == {
        ContactRole.SPOC: (
            "Sam Spoc",
            "IT Manager",
            "sam.spoc@ashworth-care.org.uk",
            "01234 567890",
        ),
        ContactRole.TECHNICAL: (
            "Tess Tech",
            "Teams Administrator",
            "tess.tech@ashworth-care.org.uk",
            "",
        ),
    }
    assert req.channel == Channel.SELF_SERVICE
    assert req.raised_by is None
    assert req.state == State.SUBMITTED
    assert req.requester_email == "robin@ashworth-care.org.uk"

    confirmation = client.get(CONFIRMATION_URL)

    assert confirmation.status_code == 200
    assert re.search(rf'<strong id="reference">{req.reference}</strong>', text(confirmation))
    assert "We have emailed robin@ashworth-care.org.uk" in text(confirmation)
    assert f'href="{status_url(req)}"' in text(confirmation)


def test_fields_about_the_person_filling_in_the_form_say_what_they_hold(client):
    # WCAG 2.2 SC 1.3.5: browsers and assistive technology can fill them in.
    page = client.get(FORM_URL).content.decode()
    for field, purpose in (
        ("organisation_name", "organization"),
        ("requester_name", "name"),
        ("requester_email", "email"),
    ):
        assert re.search(rf'<input[^>]*name="{field}"[^>]*autocomplete="{purpose}"', page), field


def test_a_requester_who_is_the_spoc_types_their_name_and_email_once(client):
    # WCAG 2.2 SC 3.3.7: what was typed once is not asked for again.
    response = client.post(
        FORM_URL, valid_form(requester_is_spoc="on", spoc_name="", spoc_email="")
    )

    assert response.status_code == 302
    spoc = confirm_submission(client).contacts.get(role=ContactRole.SPOC)
    assert (spoc.name, spoc.email) == ("Robin Requester", "robin@ashworth-care.org.uk")
    assert spoc.job_title == "IT Manager"


def test_without_i_am_the_spoc_the_spocs_name_and_email_are_still_asked_for(client):
    response = client.post(FORM_URL, valid_form(spoc_name="", spoc_email=""))

    assert response.status_code == 200
    assert field_error(response, "id_spoc_name") == "Enter the SPOC's full name"
    assert field_error(response, "id_spoc_email") == "Enter the SPOC's email address"
    assert not FederationRequest.objects.exists()


def test_the_signatory_can_be_named_on_the_form(client):
    response = client.post(
        FORM_URL,
        valid_form(
            signatory_name="Dana Director",
            signatory_job_title="Director of Digital",
            signatory_email="dana@ashworth-care.org.uk",
        ),
    )

    assert response.status_code == 302
    signatory = confirm_submission(client).contacts.get(role=ContactRole.SIGNATORY)
    assert (signatory.name, signatory.job_title, signatory.email) == (
        "Dana Director",
        "Director of Digital",
        "dana@ashworth-care.org.uk",
    )


def test_a_signatory_not_known_yet_is_left_out(client):
    client.post(FORM_URL, valid_form())
    assert not confirm_submission(client).contacts.filter(role=ContactRole.SIGNATORY)


def test_a_signatory_half_named_is_asked_for_the_rest(client):
    response = client.post(FORM_URL, valid_form(signatory_name="Dana Director"))

    assert response.status_code == 200
    assert field_error(response, "id_signatory_email") == (
        "Enter the signatory's email address, or leave all three empty if you do not know yet"
    )
    assert "Enter the signatory's job title" in field_error(response, "id_signatory_job_title")
    assert not FederationRequest.objects.exists()


def test_the_confirmation_page_without_a_submission_sends_you_to_the_start(client):
    response = client.get(CONFIRMATION_URL)

    assert response.status_code == 302
    assert response["Location"] == START_URL


def test_the_confirmation_page_shows_only_this_browsers_own_submission(client):
    client.post(FORM_URL, valid_form())
    confirm_submission(client)
    someone_else = Client()

    response = someone_else.get(CONFIRMATION_URL)

    assert response.status_code == 302
    assert response["Location"] == START_URL


@pytest.mark.parametrize(
    ("field", "value", "anchor", "message"),
    [
        ("organisation_name", "", "#id_organisation_name", "Enter your organisation's name"),
        (
            "ods_code",
            "R-8",
            "#id_ods_code",
            "Enter the ODS code as 3 to 6 letters and numbers, like RR8 or A81001.",
        ),
        (
            "has_nhsmail_presence",
            None,
            "#id_has_nhsmail_presence_0",
            "Select yes if your organisation already uses NHSmail",
        ),
        ("domains", "", "#id_domains", "Enter at least one domain"),
        (
            "requester_email",
            "robin.at.example",
            "#id_requester_email",
            "Enter your email address in the correct format, like name@example.org.uk",
        ),
        (
            "spoc_email",
            "sam.spoc",
            "#id_spoc_email",
            "Enter the SPOC's email address in the correct format, like name@example.org.uk",
        ),
        (
            "technical_job_title",
            "",
            "#id_technical_job_title",
            "Enter the technical contact's job title",
        ),
    ],
)
def test_an_invalid_request_is_shown_again_with_its_error(client, field, value, anchor, message):
    data = valid_form(**{field: value})
    if value is None:
        del data[field]

    response = client.post(FORM_URL, data)

    assert response.status_code == 200
    assert FederationRequest.objects.count() == 0
    assert title(response).startswith("Error: Request Teams federation")
    assert "There is a problem" in text(response)
    assert error_summary(response) == [(anchor, message)]
    assert field_error(response, anchor.removeprefix("#").removesuffix("_0")) == message
    # The field the summary links to exists, so the link moves focus to it.
    assert f'id="{anchor.removeprefix("#")}"' in response.content.decode()


def test_an_invalid_request_keeps_what_the_person_typed(client):
    response = client.post(FORM_URL, valid_form(spoc_email="sam.spoc", has_nhsmail_presence="yes"))

    page = response.content.decode()
    assert response.status_code == 200
    assert (
        'id="id_organisation_name" name="organisation_name" type="text" '
        'value="Ashworth Community Care"' in page
    )
    assert 'id="id_spoc_email" name="spoc_email" type="email" value="sam.spoc"' in page
    assert 'value="01234 567890"' in page
    domains = re.search(r'<textarea[^>]*id="id_domains"[^>]*>(.*?)</textarea>', page, re.S)
    assert html.unescape(domains.group(1)).splitlines() == [
        "Ashworth-Care.org.uk",
        "bücher.example.org.uk",
    ]
    assert re.search(r'id="id_has_nhsmail_presence_0" [^>]*value="yes" checked>', page)
    assert not re.search(r'id="id_has_nhsmail_presence_1" [^>]*checked', page)


def test_an_empty_request_lists_every_missing_answer_in_the_summary(client):
    data = {name: "" for name in valid_form()}

    response = client.post(FORM_URL, data)

    assert response.status_code == 200
    assert FederationRequest.objects.count() == 0
    assert [href for href, _ in error_summary(response)] == [
        "#id_organisation_name",
        "#id_has_nhsmail_presence_0",
        "#id_domains",
        "#id_justification",
        "#id_requester_name",
        "#id_requester_email",
        "#id_spoc_name",
        "#id_spoc_job_title",
        "#id_spoc_email",
        "#id_technical_name",
        "#id_technical_job_title",
        "#id_technical_email",
    ]


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        (
            "org.uk",
            "“org.uk” is a public suffix shared by many organisations, not a domain one "
            "organisation owns. Enter your organisation's own domain, like example.org.uk.",
        ),
        (
            "nhs.net",
            "“nhs.net” is NHSmail itself. Request federation for your own organisation's domain.",
        ),
        ("trust.nhs.net", "“trust.nhs.net” is NHSmail itself."),
        (
            "*.ashworth-care.org.uk",
            "“*.ashworth-care.org.uk” is a wildcard. Enter each domain "
            "in full, without *; subdomains need their own entry.",
        ),
    ],
)
def test_a_refused_domain_is_shown_with_its_sentence(client, typed, sentence):
    response = client.post(FORM_URL, valid_form(domains=f"good-partner.org.uk\r\n{typed}"))

    assert response.status_code == 200
    assert FederationRequest.objects.count() == 0
    assert RequestedDomain.objects.count() == 0
    [(href, message)] = error_summary(response)
    assert href == "#id_domains"
    assert message.startswith(sentence)
    assert field_error(response, "id_domains").startswith(sentence)
    assert "good-partner.org.uk" not in message


def test_a_domain_in_another_live_request_is_refused_without_naming_that_request(client):
    FederationRequestFactory(domains=["ashworth-care.org.uk"], reference="FR-654321")

    response = client.post(FORM_URL, valid_form(domains="ASHWORTH-care.org.uk"))

    assert response.status_code == 200
    assert FederationRequest.objects.count() == 1
    assert "FR-654321" not in response.content.decode()
    assert error_summary(response) == [
        (
            "#id_domains",
            "“ashworth-care.org.uk” is already in another request that is still open. If it is "
            "yours, follow the status link in its confirmation email; otherwise ask the NHSmail "
            "Feedback team.",
        )
    ]


def test_a_domain_of_a_withdrawn_request_can_be_requested_again(client):
    old = submitted_request(domains=["ashworth-care.org.uk"])
    lifecycle.request_withdraw(request_id=old.pk, actor=None)

    response = client.post(FORM_URL, valid_form(domains="ashworth-care.org.uk"))

    assert response.status_code == 302
    confirm_submission(client)
    assert FederationRequest.objects.count() == 2


def test_the_form_refuses_a_post_without_a_csrf_token():
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(FORM_URL, valid_form())

    assert response.status_code == 403
    assert FederationRequest.objects.count() == 0

    # The same browser, with the token the form page gives it, gets through.
    browser.get(FORM_URL)
    token = browser.cookies["csrftoken"].value
    response = browser.post(FORM_URL, {**valid_form(), "csrfmiddlewaretoken": token})
    assert response.status_code == 302
    assert PendingSubmission.objects.count() == 1


# -- the status page -----------------------------------------------------------------------------


def test_an_unknown_status_link_shows_the_friendly_not_found_page(client, settings):
    settings.DEBUG = False
    submitted_request()

    response = client.get(reverse("requests_app:status", args=["not-a-real-token"]))

    assert response.status_code == 404
    page = text(response)
    assert "<h1>Page not found</h1>" in page
    assert "copy the whole link from the email" in page
    assert f'href="{START_URL}"' in page
    assert "FR-" not in page


def test_the_status_page_shows_the_state_domains_and_next_step(client):
    req = submitted_request(domains=["ashworth-care.org.uk", "bücher.example.org.uk"])

    response = client.get(status_url(req))

    assert response.status_code == 200
    page = text(response)
    assert f"<h1>Request {req.reference}</h1>" in page
    assert "Ashworth Community Care" in page
    assert '<strong class="nhsuk-tag" id="state">Submitted</strong>' in page
    assert "<li>ashworth-care.org.uk</li>" in page
    assert "<li>bücher.example.org.uk</li>" in page
    assert "The NHSmail Feedback team will review your domains" in page
    assert f'href="{withdraw_url(req)}"' in page


def test_the_status_page_shows_the_timeline_but_not_internal_review_notes(client, feedback_user):
    req = submitted_request()
    finish_check_runs(req)
    lifecycle.request_review(request_id=req.pk, actor=feedback_user, notes="INTERNAL-NOTE-xyz")

    response = client.get(status_url(req))

    page = text(response)
    assert 'id="state">Reviewed</strong>' in page
    timeline = re.search(r'<ol class="portal-timeline">(.*?)</ol>', page, re.S).group(1)
    assert re.findall(r"<li><strong>(.*?)</strong>", timeline) == ["Submitted", "Reviewed"]
    assert "INTERNAL-NOTE-xyz" not in page
    assert feedback_user.username not in page


def test_the_status_page_shows_why_a_request_was_rejected(client, feedback_user):
    req = submitted_request()
    lifecycle.request_reject(
        request_id=req.pk,
        actor=feedback_user,
        reason="ashworth-care.org.uk publishes no DMARC record.",
    )

    response = client.get(status_url(req))

    page = text(response)
    assert 'id="state">Rejected</strong>' in page
    assert "Why the request was not accepted" in page
    assert "<p>ashworth-care.org.uk publishes no DMARC record.</p>" in page
    assert withdraw_url(req) not in page  # a closed request cannot be withdrawn


@pytest.mark.parametrize("sent", [False, True])
def test_the_status_page_links_the_agreement_only_once_it_is_sent(client, sent):
    req = FederationRequestFactory(state=State.FPA_SENT if sent else State.REVIEWED)
    agreement = sent_agreement(req, sent=sent)

    page = text(client.get(status_url(req)))

    assert (download_url(req) in page) is sent
    assert ("Download the agreement (PDF)" in page) is sent
    assert (agreement.pdf_sha256 in page) is sent


def test_a_status_link_shows_only_its_own_request(client):
    mine = FederationRequestFactory(domains=["mine.example.org.uk"], reference="FR-111111")
    theirs = FederationRequestFactory(
        state=State.FPA_SENT, domains=["theirs.example.org.uk"], reference="FR-222222"
    )
    sent_agreement(theirs)

    page = text(client.get(status_url(mine)))

    assert "FR-111111" in page
    assert "FR-222222" not in page
    assert "theirs.example.org.uk" not in page
    assert theirs.organisation.name not in page
    assert client.get(download_url(mine)).status_code == 404


# -- the agreement download ----------------------------------------------------------------------


def test_the_agreement_cannot_be_downloaded_before_it_is_sent(client):
    req = FederationRequestFactory(state=State.REVIEWED)
    assert client.get(download_url(req)).status_code == 404

    sent_agreement(req, sent=False)  # rendered, waiting to be sent

    assert client.get(download_url(req)).status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_the_sent_agreement_downloads_as_an_attachment_and_is_audited(client):
    req = FederationRequestFactory(state=State.FPA_SENT, reference="FR-345678")
    agreement = sent_agreement(req)

    response = client.get(download_url(req))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == (
        'attachment; filename="FR-345678-federation-partnering-agreement.pdf"'
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    body = download(response)
    assert hashlib.sha256(body).hexdigest() == agreement.pdf_sha256
    event = AuditEvent.objects.get(request=req, action="file.downloaded")
    assert event.actor is None
    assert event.actor_label == REQUESTER_LABEL
    assert event.message == (
        "Issued FPA FR-345678-federation-partnering-agreement.pdf "
        f"(SHA-256 {agreement.pdf_sha256})."
    )


def test_an_unknown_token_downloads_nothing(client):
    req = FederationRequestFactory(state=State.FPA_SENT)
    sent_agreement(req)

    response = client.get(reverse("agreements:status_download", args=["guess"]))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


# -- withdraw ------------------------------------------------------------------------------------


def test_the_withdraw_page_asks_for_confirmation(client):
    req = submitted_request(domains=["ashworth-care.org.uk", "bücher.example.org.uk"])

    response = client.get(withdraw_url(req))

    assert response.status_code == 200
    page = text(response)
    assert f"<h1>Withdraw request {req.reference}</h1>" in page
    assert "stops the request for ashworth-care.org.uk, bücher.example.org.uk." in page
    assert "Withdraw the request</button>" in page
    assert reload(req).state == State.SUBMITTED


def test_withdrawing_closes_the_request_as_the_requester(client):
    req = submitted_request()

    response = client.post(withdraw_url(req), {"reason": "We chose another supplier."})

    assert response.status_code == 302
    assert response["Location"] == status_url(req)
    req = reload(req)
    assert req.state == State.WITHDRAWN
    assert req.closed_reason == "We chose another supplier."
    assert not req.domains.filter(is_live=True).exists()
    event = AuditEvent.objects.get(request=req, action="request.withdrawn")
    assert (event.actor, event.actor_label) == (None, REQUESTER_LABEL)
    assert (event.from_state, event.to_state) == (State.SUBMITTED, State.WITHDRAWN)
    status_page = text(client.get(status_url(req)))
    assert 'id="state">Withdrawn</strong>' in status_page
    assert withdraw_url(req) not in status_page


def test_withdrawing_twice_says_why_not_instead_of_failing(client):
    req = submitted_request()
    client.post(withdraw_url(req), {"reason": ""})

    response = client.post(withdraw_url(req), {"reason": ""})

    assert response.status_code == 200
    assert title(response).startswith("Error: Withdraw request")
    page = text(response)
    assert "There is a problem" in page
    assert (
        f"Request {req.reference} is now “Withdrawn”, so it cannot be withdrawn. "
        "Reload the page to see where it stands."
    ) in page
    assert AuditEvent.objects.filter(request=req, action="request.withdrawn").count() == 1


@pytest.mark.parametrize("state", [State.FEDERATED, State.REJECTED])
def test_a_finished_request_cannot_be_withdrawn(client, state):
    req = FederationRequestFactory(state=state)

    response = client.post(withdraw_url(req), {"reason": ""})

    assert response.status_code == 200
    assert f"is now “{state.label}”, so it cannot be withdrawn" in text(response)
    assert reload(req).state == state


def test_withdrawing_needs_the_csrf_token():
    req = submitted_request()
    browser = Client(enforce_csrf_checks=True)

    response = browser.post(withdraw_url(req), {"reason": ""})

    assert response.status_code == 403
    assert reload(req).state == State.SUBMITTED


def test_an_unknown_token_cannot_withdraw_anything(client):
    req = submitted_request()

    response = client.post(reverse("requests_app:withdraw", args=["guess"]), {"reason": ""})

    assert response.status_code == 404
    assert reload(req).state == State.SUBMITTED
