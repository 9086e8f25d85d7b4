"""The workbench's action pages: each shows its form, changes the request through one service
and says so; a stale click, a missing precondition or a missing permission is a sentence."""

import datetime
import hashlib
import re

import pytest
from django.utils import timezone

from agreements.models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus
from agreements.selectors import current_agreement
from agreements.services.agreements import RENDER_TASK
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    ContactRole,
    FederationRequest,
    OffboardingAsk,
    OffboardingDecision,
    OutboxMessage,
    State,
)
from requests_app.services import lifecycle
from requests_app.services.check_runs import check_run_start
from requests_app.services.offboarding import request_offboarding_ask
from tests.factories import UserFactory, request_in
from tests.helpers import finish_check_runs, reload
from tests.workbench.helpers import (
    act_url,
    action_links,
    change_url,
    shown_messages,
    signature_form,
    text,
)

pytestmark = pytest.mark.django_db

EFFECTIVE_DATE = datetime.date(2026, 3, 2)

# -- the action views ----------------------------------------------------------------------------

ACTION_FORMS = [
    ("review", State.SUBMITTED, ["decision", "notes", "override_reason"], "Review"),
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

    agreement = current_agreement(req)
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
    assert not current_agreement(req).signed_copy


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


def test_a_review_with_a_failed_check_and_no_reason_is_refused_on_the_page(client, feedback_user):
    req = request_in(State.SUBMITTED, feedback_user)
    check_run_start(request_id=req.pk, actor=feedback_user)
    finish_check_runs(req, status="fail")
    client.force_login(feedback_user)

    response = client.post(act_url(req, "review"), {"decision": "accept", "notes": "Looks fine."})
    # The form again, with the sentence and what was typed, for the reason to be added.
    assert response.status_code == 200
    assert "Give the reason for accepting the domains anyway" in text(response)
    assert "Looks fine." in text(response)
    assert reload(req).state == State.SUBMITTED

    client.post(
        act_url(req, "review"),
        {"decision": "accept", "notes": "DMARC fails.", "override_reason": "Fixed this week."},
    )
    assert reload(req).state == State.REVIEWED


def test_checks_that_could_not_be_made_show_so_and_are_not_passed_by_the_review(
    client, feedback_user
):
    # Issue 11: a domain whose DNS queries were all answered SERVFAIL was shown, and reviewed,
    # as a pass.
    req = request_in(State.SUBMITTED, feedback_user)
    check_run_start(request_id=req.pk, actor=feedback_user)
    finish_check_runs(req, status="error")
    client.force_login(feedback_user)

    page = text(client.get(change_url(req)))
    assert "Could not be checked" in page

    response = client.post(act_url(req, "review"), {"decision": "accept", "notes": "Looks fine."})
    assert response.status_code == 200
    assert "could not be made (the DNS queries got no answer) for:" in text(response)
    assert reload(req).state == State.SUBMITTED

    client.post(
        act_url(req, "review"),
        {
            "decision": "accept",
            "notes": "Their DNS host had an outage.",
            "override_reason": "Ran by hand.",
        },
    )
    assert reload(req).state == State.REVIEWED
    event = AuditEvent.objects.get(request=req, action="request.reviewed")
    assert "Accepted despite checks that could not be made" in event.message


def test_whoever_verified_the_evidence_is_not_offered_the_federate_button(client, feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    FederationRequest.objects.filter(pk=req.pk).update(evidence_verified_by=feedback_user)
    colleague = UserFactory(username="colin.colleague", groups=["Feedback team"])

    client.force_login(feedback_user)
    assert 'id="action-federate"' not in client.get(change_url(req)).content.decode()
    client.force_login(colleague)
    assert 'id="action-federate"' in client.get(change_url(req)).content.decode()


def test_suspending_from_the_workbench_then_a_colleague_revokes(client, feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    lifecycle.request_federate(request_id=req.pk, actor=feedback_user)
    colleague = UserFactory(username="colin.colleague", groups=["Feedback team"])
    client.force_login(feedback_user)

    response = client.post(
        act_url(req, "suspend"),
        {"reason": "DMARC is p=none.", "effective_date": timezone.localdate().isoformat()},
        follow=True,
    )

    assert shown_messages(response)[0][0] == "success"
    assert "is suspended" in shown_messages(response)[0][1]
    page = client.get(change_url(req)).content.decode()
    assert 'id="action-reinstate"' in page
    assert 'id="action-revoke"' not in page  # four eyes: the suspender may not revoke
    client.force_login(colleague)
    assert 'id="action-revoke"' in client.get(change_url(req)).content.decode()
    client.post(act_url(req, "revoke"), {"reason": "Not fixed."}, follow=True)
    assert FederationRequest.objects.get(pk=req.pk).state == State.REVOKED


def _asked_to_offboard(req, notice_date=None):
    return request_offboarding_ask(
        request_id=req.pk,
        actor_email=req.contacts.get(role=ContactRole.SPOC).email,
        reason="Moving to NHSmail.",
        notice_date=notice_date or timezone.localdate(),
    )


def test_the_team_confirms_an_offboarding_ask_from_the_workbench(client, feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user)
    lifecycle.request_federate(request_id=req.pk, actor=feedback_user)
    _asked_to_offboard(req)
    client.force_login(feedback_user)

    form_page = client.get(act_url(req, "offboard"))
    response = client.post(act_url(req, "offboard"), {"decision": "offboard"}, follow=True)

    assert "asked on" in text(form_page) and "Why: Moving to NHSmail." in text(form_page)
    assert shown_messages(response)[0][0] == "success"
    assert "is offboarded" in shown_messages(response)[0][1]
    assert FederationRequest.objects.get(pk=req.pk).state == State.OFFBOARDED
    assert action_links(client.get(change_url(req))) == set()


def test_declining_from_the_workbench_needs_the_reason(client, feedback_user):
    req = request_in(State.SUSPENDED, feedback_user)
    _asked_to_offboard(req)
    client.force_login(feedback_user)

    missing = client.post(act_url(req, "offboard"), {"decision": "decline"})
    assert "Give the reason for declining" in text(missing)
    assert OffboardingAsk.objects.get().decision == OffboardingDecision.PENDING

    response = client.post(
        act_url(req, "offboard"),
        {"decision": "decline", "decline_reason": "Your signatory must agree."},
        follow=True,
    )

    assert "is declined" in shown_messages(response)[0][1]
    ask = OffboardingAsk.objects.get()
    assert (ask.decision, ask.decline_reason) == (
        OffboardingDecision.DECLINED,
        "Your signatory must agree.",
    )
    assert FederationRequest.objects.get(pk=req.pk).state == State.SUSPENDED
    assert "offboard" not in action_links(client.get(change_url(req)))


def test_the_service_desk_cannot_decide_an_offboarding_ask(
    client, service_desk_user, feedback_user
):
    req = request_in(State.SUSPENDED, feedback_user)
    _asked_to_offboard(req)
    client.force_login(service_desk_user)

    response = client.post(act_url(req, "offboard"), {"decision": "offboard"}, follow=True)

    assert shown_messages(response) == [
        ("error", "You do not have permission to do this: decide the ask to end the agreement.")
    ]
    assert FederationRequest.objects.get(pk=req.pk).state == State.SUSPENDED


def test_the_change_page_keeps_every_ask_and_its_decision(client, feedback_user):
    req = request_in(State.SUSPENDED, feedback_user)
    _asked_to_offboard(req)
    client.force_login(feedback_user)
    client.post(
        act_url(req, "offboard"),
        {"decision": "decline", "decline_reason": "Your signatory must agree."},
    )

    page = text(client.get(change_url(req)))

    assert "Asks to end the agreement (offboarding)" in page
    assert "Moving to NHSmail." in page and "Your signatory must agree." in page
    assert "The organisation asks to end the agreement:" not in page  # decided: nothing waits
