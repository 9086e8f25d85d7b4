"""The Feedback team's workbench in the admin: action links, action views, raise on behalf,
the changelist, file downloads and the read-only audit log."""

import datetime
import hashlib
import html
import io
import re

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from pypdf import PdfWriter

from agreements.models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus
from agreements.services import RENDER_TASK
from agreements.upload_handlers import SizeLimitUploadHandler
from requests_app import services as request_services
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    Channel,
    FederationRequest,
    OutboxMessage,
    State,
)
from tests.factories import (
    AgreementFactory,
    EvidenceItemFactory,
    FederationRequestFactory,
    OrganisationFactory,
    UserFactory,
)
from tests.helpers import reload

pytestmark = pytest.mark.django_db

CHANGELIST_URL = reverse("admin:requests_app_federationrequest_changelist")
RAISE_URL = reverse("admin:requests_app_federationrequest_raise")
EFFECTIVE_DATE = datetime.date(2026, 3, 2)


# -- helpers -------------------------------------------------------------------------------------


def text(response) -> str:
    """The page as a person reads it: entities decoded, runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


def shown_messages(response) -> list[tuple[str, str]]:
    """(level, sentence) for each message in the admin's message list."""
    match = re.search(r'<ul class="messagelist">(.*?)</ul>', response.content.decode(), re.S)
    if not match:
        return []
    return [
        (level, html.unescape(sentence).strip())
        for level, sentence in re.findall(r'<li class="(\w+)">(.*?)</li>', match.group(1), re.S)
    ]


def action_links(response) -> set[str]:
    return set(re.findall(r'id="action-([\w-]+)"', response.content.decode()))


def listed_references(response) -> list[str]:
    return re.findall(
        r'<th class="field-reference"><a href="[^"]*">(FR-\d+)</a></th>',
        response.content.decode(),
    )


def change_url(req) -> str:
    return reverse("admin:requests_app_federationrequest_change", args=[req.pk])


def act_url(req, action: str) -> str:
    return reverse("admin:requests_app_federationrequest_act", args=[req.pk, action])


def file_url(req, kind: str, file_pk: int) -> str:
    return reverse("admin:requests_app_federationrequest_file", args=[req.pk, kind, file_pk])


def evidence_url(req, item, verb: str) -> str:
    return reverse("admin:requests_app_federationrequest_evidence", args=[req.pk, item.pk, verb])


def pdf_bytes(pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(595, 842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_upload(name: str = "signed FPA.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, pdf_bytes(), content_type="application/pdf")


def download(response) -> bytes:
    # The test client closes the file once the content is read; closing the response again
    # would send request_finished and close the test's database connection.
    return b"".join(response.streaming_content)


def request_in(state: State, staff, **factory_arguments) -> FederationRequest:
    """A request in state with what that state implies: a sent agreement, a signed copy,
    verified evidence for every required criterion once signed."""
    req = FederationRequestFactory(state=state, **factory_arguments)
    if state in (State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED):
        content = pdf_bytes()
        agreement = AgreementFactory(
            request=req,
            requested_by=staff,
            pdf=ContentFile(content, name="fpa.pdf"),
            pdf_sha256=hashlib.sha256(content).hexdigest(),
            rendered_at=timezone.now(),
            sent_at=timezone.now(),
        )
        if state != State.FPA_SENT:
            signed = pdf_bytes(pages=2)
            agreement.signed_copy.save("signed.pdf", ContentFile(signed), save=False)
            agreement.signed_copy_sha256 = hashlib.sha256(signed).hexdigest()
            agreement.signatory_name = "Dana Director"
            agreement.signatory_job_title = "Director of Digital"
            agreement.signatory_is_director = True
            agreement.signed_on = datetime.date(2026, 2, 14)
            agreement.save()
            # Another member of the team verified it: staff may then federate (four eyes).
            verifier = UserFactory(username=f"vera.verifier.{req.pk}", groups=["Feedback team"])
            for criterion in EvidenceCriterion.objects.filter(required=True):
                EvidenceItemFactory(
                    request=req,
                    criterion=criterion,
                    status=EvidenceStatus.VERIFIED,
                    verified_by=verifier,
                    verified_at=timezone.now(),
                )
    return req


def signature_form() -> dict:
    return {
        "signed_copy": pdf_upload(),
        "signatory_name": "Dana Director",
        "signatory_job_title": "Director of Digital",
        "signed_on": "2026-02-14",
        "signatory_is_director": "on",
        "matches_issued": "on",
    }


def raise_form(**overrides) -> dict:
    data = {
        "organisation_name": "Hillside Hospice",
        "ods_code": "",
        "has_nhsmail_presence": "no",
        "domains": "hillside-hospice.org.uk",
        "justification": "Teams federation",
        "requester_name": "Hana Hospice",
        "requester_email": "hana@hillside-hospice.org.uk",
        "spoc_name": "Sam Spoc",
        "spoc_job_title": "IT Manager",
        "spoc_email": "sam@hillside-hospice.org.uk",
        "spoc_phone": "",
        "technical_name": "Tess Tech",
        "technical_job_title": "Teams Administrator",
        "technical_email": "tess@hillside-hospice.org.uk",
        "technical_phone": "",
        "on_behalf_reason": "No NHSmail presence; ticket INC0012345.",
    }
    data.update(overrides)
    return data


def transition_events(req, action: str) -> int:
    return AuditEvent.objects.filter(request_id=req.pk, action=action).count()


# -- which action links the change page shows ----------------------------------------------------

FEEDBACK_TEAM_LINKS = {
    State.SUBMITTED: {"review", "reject", "withdraw"},
    State.REVIEWED: {"send_agreement", "reject", "withdraw"},
    State.FPA_SENT: {"record_signature", "reject", "withdraw", "add-evidence"},
    State.SIGNED: {"verify_evidence", "reject", "withdraw", "add-evidence"},
    State.EVIDENCE_VERIFIED: {"federate", "reject", "withdraw"},
    State.FEDERATED: set(),
    State.REJECTED: set(),
    State.WITHDRAWN: set(),
}


@pytest.mark.parametrize("state", list(State))
def test_the_feedback_team_sees_exactly_the_actions_of_the_current_state(
    client, feedback_user, state
):
    req = request_in(state, feedback_user)
    client.force_login(feedback_user)

    response = client.get(change_url(req))

    assert response.status_code == 200
    assert f"State: <strong>{state.label}</strong>" in text(response)
    assert action_links(response) == FEEDBACK_TEAM_LINKS[state]
    for action in FEEDBACK_TEAM_LINKS[state] - {"add-evidence"}:
        assert f'href="{act_url(req, action)}"' in response.content.decode()
    nothing_to_do = "There is nothing you can do on this request now." in text(response)
    assert nothing_to_do is (not FEEDBACK_TEAM_LINKS[state])


def test_the_send_link_is_hidden_while_the_agreement_is_being_rendered(client, feedback_user):
    req = request_in(State.REVIEWED, feedback_user)
    AgreementFactory(request=req, requested_by=feedback_user)  # queued, not yet rendered
    client.force_login(feedback_user)

    response = client.get(change_url(req))

    assert action_links(response) == {"reject", "withdraw"}
    assert "being rendered" in text(response)


@pytest.mark.parametrize("state", list(State))
def test_the_service_desk_sees_no_action_links(client, service_desk_user, feedback_user, state):
    req = request_in(state, feedback_user)
    client.force_login(service_desk_user)

    response = client.get(change_url(req))

    assert response.status_code == 200
    assert action_links(response) == set()
    assert "There is nothing you can do on this request now." in text(response)


def test_the_service_desk_changelist_offers_to_raise_a_request(client, service_desk_user):
    client.force_login(service_desk_user)

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert (
        f'<a href="{RAISE_URL}" class="addlink">Raise a request on behalf of an organisation'
        in text(response)
    )


def test_the_feedback_team_changelist_does_not_offer_to_raise(client, feedback_user):
    client.force_login(feedback_user)

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert RAISE_URL not in response.content.decode()
    assert client.get(RAISE_URL).status_code == 403


def test_staff_in_no_group_are_refused_the_requests(client, outsider_user, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(outsider_user)

    assert client.get(CHANGELIST_URL).status_code == 403
    assert client.get(change_url(req)).status_code == 403
    assert client.get(act_url(req, "review")).status_code == 403
    assert client.get(RAISE_URL).status_code == 403


def test_the_change_page_shows_the_domains_and_contacts_being_reviewed(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user, domains=["alpha-care.org.uk"])
    spoc = req.contacts.get(role="spoc")
    client.force_login(feedback_user)

    page = text(client.get(change_url(req)))

    assert "alpha-care.org.uk" in page
    assert spoc.email in page


# -- the action views ----------------------------------------------------------------------------

ACTION_FORMS = [
    ("review", State.SUBMITTED, ["decision", "notes"], "Review"),
    ("send_agreement", State.REVIEWED, [], "Send the agreement (FPA)"),
    (
        "record_signature",
        State.FPA_SENT,
        [
            "signed_copy",
            "signatory_name",
            "signatory_job_title",
            "signatory_email",
            "signed_on",
            "signatory_is_director",
            "matches_issued",
        ],
        "Record the signed agreement",
    ),
    ("verify_evidence", State.SIGNED, [], "Mark evidence verified"),
    ("federate", State.EVIDENCE_VERIFIED, ["effective_date"], "Federate"),
    ("reject", State.SUBMITTED, ["reason"], "Reject"),
    ("withdraw", State.SIGNED, ["reason"], "Withdraw"),
]


@pytest.mark.parametrize(("action", "state", "fields", "label"), ACTION_FORMS)
def test_an_action_page_shows_its_form(client, feedback_user, action, state, fields, label):
    req = request_in(state, feedback_user)
    client.force_login(feedback_user)

    response = client.get(act_url(req, action))

    assert response.status_code == 200
    page = response.content.decode()
    assert f"{label}: {req.reference}" in text(response)
    assert f'<input type="submit" class="default" value="{label}">' in text(response)
    form = page.split("<form")[-1]
    assert set(re.findall(r'name="(?!csrfmiddlewaretoken)(\w+)"', form)) == set(fields)
    assert ('enctype="multipart/form-data"' in page) is (action == "record_signature")
    assert reload(req).state == state  # looking changes nothing


# action, from state, form data (a callable: uploads are read once), state after, success
ACTION_POSTS = [
    (
        "review",
        State.SUBMITTED,
        lambda: {"decision": "accept", "notes": "Domain registered to the organisation."},
        State.REVIEWED,
        "{ref} is reviewed. Send the agreement when you are ready.",
    ),
    (
        "send_agreement",
        State.REVIEWED,
        dict,
        State.REVIEWED,
        "The agreement for {ref} is being rendered; it is emailed as soon as it is.",
    ),
    (
        "record_signature",
        State.FPA_SENT,
        signature_form,
        State.SIGNED,
        "{ref} is signed. Verify the evidence next.",
    ),
    (
        "verify_evidence",
        State.SIGNED,
        dict,
        State.EVIDENCE_VERIFIED,
        "The evidence for {ref} is verified.",
    ),
    (
        "federate",
        State.EVIDENCE_VERIFIED,
        lambda: {"effective_date": "2026-03-02"},
        State.FEDERATED,
        "{ref} is federated: its domains are on the allow list.",
    ),
    (
        "reject",
        State.REVIEWED,
        lambda: {"reason": "No DMARC record."},
        State.REJECTED,
        "{ref} was rejected.",
    ),
    (
        "withdraw",
        State.FPA_SENT,
        lambda: {"reason": "Asked by phone."},
        State.WITHDRAWN,
        "{ref} was withdrawn.",
    ),
]


@pytest.mark.parametrize(("action", "state", "data", "after", "success"), ACTION_POSTS)
def test_an_action_changes_the_request_and_says_so(
    client, feedback_user, action, state, data, after, success
):
    req = request_in(state, feedback_user)
    client.force_login(feedback_user)

    response = client.post(act_url(req, action), data(), follow=True)

    assert response.redirect_chain == [(change_url(req), 302)]
    assert shown_messages(response) == [("success", success.format(ref=req.reference))]
    assert reload(req).state == after
    assert f"State: <strong>{after.label}</strong>" in text(response)


def test_reviewing_records_who_reviewed_and_their_notes(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(feedback_user)

    client.post(act_url(req, "review"), {"decision": "accept", "notes": "WHOIS checked."})

    req = reload(req)
    assert (req.reviewed_by, req.review_notes) == (feedback_user, "WHOIS checked.")
    event = AuditEvent.objects.get(request=req, action="request.reviewed")
    assert (event.actor, event.from_state, event.to_state) == (
        feedback_user,
        State.SUBMITTED,
        State.REVIEWED,
    )


def test_a_review_that_rejects_closes_the_request_with_the_notes_as_reason(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(feedback_user)

    response = client.post(
        act_url(req, "review"),
        {"decision": "reject", "notes": "The domain belongs to another company."},
        follow=True,
    )

    req = reload(req)
    assert req.state == State.REJECTED
    assert req.closed_reason == "The domain belongs to another company."
    assert shown_messages(response) == [
        ("success", f"{req.reference} was rejected; the requester has been emailed.")
    ]


def test_sending_the_agreement_queues_its_rendering(client, feedback_user):
    req = request_in(State.REVIEWED, feedback_user)
    client.force_login(feedback_user)

    response = client.post(act_url(req, "send_agreement"), follow=True)

    agreement = Agreement.objects.get(request=req)
    assert agreement.requested_by == feedback_user
    assert list(OutboxMessage.objects.values_list("task_name", "kwargs")) == [
        (RENDER_TASK, {"agreement_id": agreement.pk})
    ]
    assert "send_agreement" not in action_links(response)


def test_recording_the_signature_keeps_the_signed_copy_and_signatory(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    upload = signature_form()
    uploaded = upload["signed_copy"].read()
    upload["signed_copy"].seek(0)
    client.force_login(feedback_user)

    client.post(act_url(req, "record_signature"), upload)

    agreement = reload(req).current_agreement
    assert agreement.signatory_name == "Dana Director"
    assert agreement.signed_on == datetime.date(2026, 2, 14)
    assert agreement.signed_copy.read() == uploaded
    assert agreement.signed_copy_sha256 == hashlib.sha256(uploaded).hexdigest()


def test_federating_puts_the_domains_on_the_allow_list(client, feedback_user):
    req = request_in(
        State.EVIDENCE_VERIFIED, feedback_user, domains=["alpha-care.org.uk", "beta-care.org.uk"]
    )
    client.force_login(feedback_user)

    client.post(act_url(req, "federate"), {"effective_date": "2026-03-02"})

    assert sorted(
        AllowListEntry.objects.filter(request=req).values_list("domain", "effective_date")
    ) == [("alpha-care.org.uk", EFFECTIVE_DATE), ("beta-care.org.uk", EFFECTIVE_DATE)]


# The sentence a stale second click gets, once the first has taken the transition.
STALE_CLICK = {
    "review": "Request {ref} is now “Reviewed”, so it cannot be reviewed. "
    "Reload the page to see where it stands.",
    "send_agreement": "The agreement for {ref} is already being prepared. "
    "It is sent as soon as it is rendered.",
    "record_signature": "Request {ref} is “Agreement signed”; a signed copy is recorded only "
    "while the agreement is out for signature.",
    "verify_evidence": "Request {ref} is now “Evidence verified”, so it cannot be marked as "
    "evidence verified. Reload the page to see where it stands.",
    "federate": "Request {ref} is now “Federated”, so it cannot be federated. "
    "Reload the page to see where it stands.",
    "reject": "Request {ref} is now “Rejected”, so it cannot be rejected. "
    "Reload the page to see where it stands.",
    "withdraw": "Request {ref} is now “Withdrawn”, so it cannot be withdrawn. "
    "Reload the page to see where it stands.",
}


@pytest.mark.parametrize(("action", "state", "data", "after", "success"), ACTION_POSTS)
def test_a_stale_second_click_is_refused_with_a_sentence(
    client, feedback_user, action, state, data, after, success
):
    req = request_in(state, feedback_user)
    client.force_login(feedback_user)
    client.post(act_url(req, action), data(), follow=True)  # shows and clears its message
    events_before = AuditEvent.objects.filter(request=req).count()

    response = client.post(act_url(req, action), data(), follow=True)

    assert response.redirect_chain == [(change_url(req), 302)]
    [(level, sentence)] = shown_messages(response)
    assert level == "error"
    assert sentence.startswith(STALE_CLICK[action].format(ref=req.reference))
    assert reload(req).state == after
    assert AuditEvent.objects.filter(request=req).count() == events_before


def test_a_second_federate_click_says_the_request_is_already_federated(client, feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    client.force_login(feedback_user)
    client.post(act_url(req, "federate"), {"effective_date": "2026-03-02"}, follow=True)

    response = client.post(act_url(req, "federate"), {"effective_date": "2026-03-02"}, follow=True)

    assert shown_messages(response) == [
        (
            "error",
            f"Request {req.reference} is now “Federated”, so it cannot be federated. "
            "Reload the page to see where it stands.",
        )
    ]


def test_verifying_with_evidence_missing_names_what_is_missing(client, feedback_user):
    req = request_in(State.SIGNED, feedback_user)
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    EvidenceItem.objects.filter(request=req, criterion=dmarc).update(status=EvidenceStatus.RETURNED)
    client.force_login(feedback_user)

    response = client.post(act_url(req, "verify_evidence"), follow=True)

    assert shown_messages(response) == [
        ("error", f"Evidence is not yet verified for: {dmarc.title}.")
    ]
    assert reload(req).state == State.SIGNED
    assert f"Evidence still to verify: {dmarc.title}." in text(response)


def test_an_incomplete_action_form_is_shown_again_with_its_errors(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(feedback_user)

    response = client.post(
        act_url(req, "record_signature"), {**signature_form(), "signatory_is_director": ""}
    )

    assert response.status_code == 200
    assert "Please correct the errors below." in text(response)
    assert "The agreement must be signed at Director level." in text(response)
    assert reload(req).state == State.FPA_SENT
    assert not reload(req).current_agreement.signed_copy


@pytest.mark.parametrize(("action", "state", "data", "after", "success"), ACTION_POSTS)
def test_the_service_desk_cannot_take_an_action_by_posting_to_it(
    client, service_desk_user, feedback_user, action, state, data, after, success
):
    req = request_in(state, feedback_user)
    agreements_before = req.agreements.count()
    client.force_login(service_desk_user)

    response = client.post(act_url(req, action), data(), follow=True)

    assert response.redirect_chain == [(change_url(req), 302)]
    [(level, sentence)] = shown_messages(response)
    assert level == "error"
    assert sentence.startswith("You do not have permission to do this: ")
    assert reload(req).state == state
    assert not AuditEvent.objects.filter(request=req).exists()
    assert req.agreements.count() == agreements_before


def test_staff_in_no_group_cannot_take_an_action_by_posting_to_it(
    client, outsider_user, feedback_user
):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(outsider_user)

    response = client.post(act_url(req, "reject"), {"reason": "Because."})

    assert response.status_code == 403
    assert reload(req).state == State.SUBMITTED


def test_an_unknown_action_is_not_found(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    client.force_login(feedback_user)

    assert client.post(act_url(req, "approve"), {}).status_code == 404
    assert reload(req).state == State.SUBMITTED


# -- evidence ------------------------------------------------------------------------------------


def test_the_feedback_team_adds_evidence(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    tls = EvidenceCriterion.objects.get(code="tls")
    client.force_login(feedback_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": tls.pk, "file": pdf_upload("TLS report.pdf"), "notes": ""},
        follow=True,
    )

    assert shown_messages(response) == [("success", "The evidence was added.")]
    item = EvidenceItem.objects.get(request=req)
    assert (item.criterion, item.original_filename, item.uploaded_by) == (
        tls,
        "TLS report.pdf",
        feedback_user,
    )


def test_an_oversized_upload_stops_being_read_at_the_limit(
    client, feedback_user, settings, monkeypatch
):
    settings.UPLOAD_MAX_BYTES = 64 * 1024
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(feedback_user)
    received = []
    original = SizeLimitUploadHandler.receive_data_chunk

    def counting(handler, raw_data, start):
        received.append(len(raw_data))
        return original(handler, raw_data, start)

    monkeypatch.setattr(SizeLimitUploadHandler, "receive_data_chunk", counting)
    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {
            "criterion": EvidenceCriterion.objects.first().pk,
            "file": SimpleUploadedFile("big.pdf", b"%PDF-1.7\n" + b"0" * (4 * 1024 * 1024)),
        },
    )

    assert "The file must be no larger than 64.0 KB." in text(response)
    assert sum(received) <= 2 * 64 * 1024  # at most one chunk past the limit; not 4 MB
    assert not EvidenceItem.objects.filter(request=req).exists()


def test_evidence_that_is_not_a_pdf_is_refused_with_a_sentence(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(feedback_user)
    upload = SimpleUploadedFile("report.pdf", b"MZ\x90\x00 not a pdf")

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": EvidenceCriterion.objects.first().pk, "file": upload},
        follow=True,
    )

    assert shown_messages(response) == [
        ("error", "The evidence was not accepted. The file must be a PDF; this file is not one.")
    ]
    assert not EvidenceItem.objects.filter(request=req).exists()


@pytest.mark.parametrize(
    ("verb", "data", "status", "success"),
    [
        ("verify", {}, EvidenceStatus.VERIFIED, "Evidence for “{title}” verified."),
        (
            "return",
            {"reason": "The DMARC record is p=none."},
            EvidenceStatus.RETURNED,
            "Evidence for “{title}” returned for rework.",
        ),
    ],
)
def test_the_feedback_team_verifies_or_returns_evidence(
    client, feedback_user, verb, data, status, success
):
    req = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=req.pk).update(state=State.SIGNED)
    item = EvidenceItemFactory(request=req, criterion=EvidenceCriterion.objects.get(code="dmarc"))
    client.force_login(feedback_user)

    assert client.get(evidence_url(req, item, verb)).status_code == 200
    response = client.post(evidence_url(req, item, verb), data, follow=True)

    assert shown_messages(response) == [("success", success.format(title=item.criterion.title))]
    item.refresh_from_db()
    assert item.status == status


def test_evidence_of_another_request_cannot_be_reviewed_through_this_one(client, feedback_user):
    req = request_in(State.SIGNED, feedback_user)
    other = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=other.pk).update(state=State.SIGNED)
    item = EvidenceItemFactory(request=other)
    client.force_login(feedback_user)

    assert client.post(evidence_url(req, item, "verify")).status_code == 404
    item.refresh_from_db()
    assert item.status == EvidenceStatus.PENDING


def test_the_service_desk_cannot_add_evidence(client, service_desk_user, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    client.force_login(service_desk_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_evidence_add", args=[req.pk]),
        {"criterion": EvidenceCriterion.objects.first().pk, "file": pdf_upload()},
        follow=True,
    )

    assert shown_messages(response) == [("error", "You do not have permission to add evidence.")]
    assert not EvidenceItem.objects.filter(request=req).exists()


# -- raise on behalf -----------------------------------------------------------------------------


def test_the_service_desk_raises_a_request_on_an_organisations_behalf(client, service_desk_user):
    client.force_login(service_desk_user)
    assert client.get(RAISE_URL).status_code == 200

    response = client.post(RAISE_URL, raise_form(), follow=True)

    req = FederationRequest.objects.get()
    assert response.redirect_chain == [(change_url(req), 302)]
    assert req.channel == Channel.SERVICE_DESK
    assert req.raised_by == service_desk_user
    assert req.raised_on_behalf_reason == "No NHSmail presence; ticket INC0012345."
    assert req.organisation.name == "Hillside Hospice"
    assert list(req.domains.values_list("name", flat=True)) == ["hillside-hospice.org.uk"]
    assert req.contacts.count() == 2
    assert shown_messages(response) == [
        (
            "success",
            f"{req.reference} was raised on the organisation's behalf; the requester and SPOC have "
            "been emailed.",
        )
    ]
    event = AuditEvent.objects.get(request=req, action="request.submitted")
    assert (event.actor, event.actor_label) == (service_desk_user, service_desk_user.username)
    assert "Raised on behalf by the service desk" in event.message


def test_raising_on_behalf_needs_a_reason(client, service_desk_user):
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form(on_behalf_reason=""))

    assert response.status_code == 200
    assert "Please correct the errors below." in text(response)
    assert FederationRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        (
            "co.uk",
            "“co.uk” is a public suffix shared by many organisations, not a domain one "
            "organisation owns.",
        ),
        ("nhs.net", "“nhs.net” is NHSmail itself."),
        ("*.hillside-hospice.org.uk", "“*.hillside-hospice.org.uk” is a wildcard."),
    ],
)
def test_raising_on_behalf_applies_the_same_domain_rules(
    client, service_desk_user, typed, sentence
):
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form(domains=typed))

    assert response.status_code == 200
    assert sentence in text(response)
    assert FederationRequest.objects.count() == 0


def test_raising_on_behalf_refuses_a_domain_in_a_live_request(
    client, service_desk_user, feedback_user
):
    request_in(
        State.SIGNED, feedback_user, domains=["hillside-hospice.org.uk"], reference="FR-424242"
    )
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form())

    assert response.status_code == 200
    assert (
        "“hillside-hospice.org.uk” is already in request FR-424242, which is still open."
        in text(response)
    )
    assert FederationRequest.objects.count() == 1


# -- the changelist ------------------------------------------------------------------------------


def make_requests(count: int, start: int) -> None:
    for n in range(start, start + count):
        FederationRequestFactory(
            domains=[f"site{n}-{i}.example.org.uk" for i in range(2 + n % 2)],
            reference=f"FR-{700000 + n}",
        )


def test_the_changelist_query_count_does_not_grow_with_rows(client, feedback_user):
    make_requests(5, start=0)
    client.force_login(feedback_user)
    client.get(CHANGELIST_URL)  # warm the session and content-type caches

    with CaptureQueriesContext(connection) as with_five:
        five = client.get(CHANGELIST_URL)
    make_requests(35, start=5)
    with CaptureQueriesContext(connection) as with_forty:
        forty = client.get(CHANGELIST_URL)

    assert len(listed_references(five)) == 5
    assert len(listed_references(forty)) == 40
    last_row = "site39-0.example.org.uk, site39-1.example.org.uk, site39-2.example.org.uk"
    assert last_row in text(forty)
    assert len(with_forty) == len(with_five), [q["sql"] for q in with_forty.captured_queries]


@pytest.fixture
def three_requests(feedback_user):
    return {
        "ashworth": FederationRequestFactory(
            organisation=OrganisationFactory(name="Ashworth Community Care"),
            domains=["ashworth-care.org.uk"],
            reference="FR-500001",
        ),
        "bravo": FederationRequestFactory(
            organisation=OrganisationFactory(name="Bravo Pharmacy Group"),
            domains=["bravo-pharmacy.co.uk", "xn--bcher-kva.example.org.uk"],
            reference="FR-500002",
            state=State.SIGNED,
        ),
        "castle": FederationRequestFactory(
            organisation=OrganisationFactory(name="Castle Hospice"),
            domains=["castle-hospice.org.uk"],
            reference="FR-500003",
            state=State.SIGNED,
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=FR-500002", ["FR-500002"]),
        ("q=ashworth community", ["FR-500001"]),
        ("q=castle", ["FR-500003"]),
        ("q=bravo-pharmacy.co.uk", ["FR-500002"]),
        ("q=hospice.org", ["FR-500003"]),
        ("state__exact=signed", ["FR-500003", "FR-500002"]),
        ("state__exact=submitted", ["FR-500001"]),
        ("state__exact=federated", []),
    ],
)
def test_the_changelist_searches_and_filters(
    client, feedback_user, three_requests, query, expected
):
    client.force_login(feedback_user)

    response = client.get(f"{CHANGELIST_URL}?{query}")

    assert response.status_code == 200
    assert listed_references(response) == expected


def test_the_changelist_finds_a_domain_by_the_name_it_shows(client, feedback_user, three_requests):
    client.force_login(feedback_user)

    response = client.get(f"{CHANGELIST_URL}?q=bücher.example.org.uk")

    assert "bücher.example.org.uk" in text(client.get(CHANGELIST_URL))
    assert listed_references(response) == ["FR-500002"]


# -- file downloads ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "filename"),
    [
        ("agreement", "FR-600001-federation-partnering-agreement.pdf"),
        ("signed", "FR-600001-federation-partnering-agreement-signed.pdf"),
    ],
)
def test_staff_download_the_agreement_and_are_audited(client, feedback_user, kind, filename):
    req = request_in(State.SIGNED, feedback_user, reference="FR-600001")
    agreement = req.current_agreement
    client.force_login(feedback_user)

    response = client.get(file_url(req, kind, agreement.pk))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="{filename}"'
    assert response["X-Content-Type-Options"] == "nosniff"
    expected = agreement.pdf_sha256 if kind == "agreement" else agreement.signed_copy_sha256
    assert hashlib.sha256(download(response)).hexdigest() == expected
    event = AuditEvent.objects.get(request=req, action="file.downloaded")
    assert (event.actor, event.actor_label) == (feedback_user, feedback_user.username)
    assert filename in event.message


def test_evidence_downloads_under_a_safe_name_whatever_it_was_uploaded_as(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user, reference="FR-600002")
    item = EvidenceItemFactory(
        request=req,
        original_filename='../../etc/passwd"\r\nX-Evil: 1.pdf',
        file=ContentFile(b"%PDF-1.4 evidence", name="e.pdf"),
    )
    client.force_login(feedback_user)

    response = client.get(file_url(req, "evidence", item.pk))

    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="FR-600002-evidence-{item.pk}.pdf"'
    )
    assert "X-Evil" not in response
    assert download(response) == b"%PDF-1.4 evidence"
    event = AuditEvent.objects.get(request=req, action="file.downloaded")
    assert event.actor == feedback_user


@pytest.mark.parametrize("kind", ["evidence", "agreement", "signed"])
def test_a_file_of_another_request_is_not_found_through_this_one(client, feedback_user, kind):
    req = request_in(State.SIGNED, feedback_user)
    other = request_in(State.SIGNED, feedback_user)
    file_pk = other.evidence_items.first().pk if kind == "evidence" else other.current_agreement.pk
    client.force_login(feedback_user)

    response = client.get(file_url(req, kind, file_pk))

    assert response.status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_a_file_not_yet_there_is_not_found(client, feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    agreement = req.current_agreement  # sent, not yet signed
    client.force_login(feedback_user)

    assert client.get(file_url(req, "signed", agreement.pk)).status_code == 404
    assert client.get(file_url(req, "passport", agreement.pk)).status_code == 404
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


def test_staff_in_no_group_cannot_download_files(client, outsider_user, feedback_user):
    req = request_in(State.SIGNED, feedback_user)
    client.force_login(outsider_user)

    assert client.get(file_url(req, "agreement", req.current_agreement.pk)).status_code == 403
    assert not AuditEvent.objects.filter(action="file.downloaded").exists()


@pytest.mark.parametrize("kind", ["signed", "evidence"])
def test_the_service_desk_cannot_download_agreements_or_evidence(
    client, service_desk_user, feedback_user, kind
):
    req = request_in(State.SIGNED, feedback_user)
    file_pk = req.evidence_items.first().pk if kind == "evidence" else req.current_agreement.pk
    client.force_login(service_desk_user)

    response = client.get(file_url(req, kind, file_pk))

    assert response.status_code == 403


# -- the audit log is read-only ------------------------------------------------------------------


@pytest.fixture
def audit_event(feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    return AuditEvent.objects.create(
        request=req,
        actor=feedback_user,
        actor_label=feedback_user.username,
        action="request.reviewed",
        from_state="submitted",
        to_state="reviewed",
        message="ORIGINAL-MESSAGE",
    )


def test_the_audit_log_can_be_read(client, feedback_user, audit_event):
    client.force_login(feedback_user)

    listing = client.get(reverse("admin:requests_app_auditevent_changelist"))
    page = client.get(reverse("admin:requests_app_auditevent_change", args=[audit_event.pk]))

    assert listing.status_code == 200
    assert "request.reviewed" in text(listing)
    assert page.status_code == 200
    assert "ORIGINAL-MESSAGE" in text(page)
    assert 'name="_save"' not in page.content.decode()
    assert "deletelink" not in page.content.decode()
    assert reverse("admin:requests_app_auditevent_add") not in listing.content.decode()


@pytest.fixture(params=["feedback_user", "superuser"])
def staff(request):
    if request.param == "superuser":
        return UserFactory(username="root", is_superuser=True)
    return request.getfixturevalue(request.param)


def test_the_audit_log_cannot_be_added_to(client, staff):
    client.force_login(staff)
    url = reverse("admin:requests_app_auditevent_add")

    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "request.federated", "actor_label": "me"}).status_code == 403
    assert not AuditEvent.objects.exists()


def test_the_audit_log_cannot_be_changed(client, staff, audit_event):
    client.force_login(staff)

    response = client.post(
        reverse("admin:requests_app_auditevent_change", args=[audit_event.pk]),
        {"action": "request.federated", "message": "TAMPERED", "actor_label": "nobody"},
    )

    assert response.status_code == 403
    audit_event.refresh_from_db()
    assert (audit_event.action, audit_event.message) == ("request.reviewed", "ORIGINAL-MESSAGE")


def test_the_audit_log_cannot_be_deleted(client, staff, audit_event):
    client.force_login(staff)
    url = reverse("admin:requests_app_auditevent_delete", args=[audit_event.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:requests_app_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [audit_event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()


def test_the_change_page_shows_the_newest_audit_events_to_the_feedback_team_only(
    client, feedback_user, service_desk_user
):
    req = FederationRequestFactory()
    request_services.request_review(request_id=req.pk, actor=feedback_user, notes="Looks right.")
    client.force_login(feedback_user)

    page = client.get(change_url(req)).content.decode()

    assert 'id="audit-log"' in page
    assert "request.reviewed" in page and "Looks right." in page
    assert f"?q={req.reference}" in page  # the whole log, filtered to this request
    client.force_login(service_desk_user)
    assert 'id="audit-log"' not in client.get(change_url(req)).content.decode()
