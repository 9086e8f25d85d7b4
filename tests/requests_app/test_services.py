"""The lifecycle services (requests_app.services.lifecycle): submit, review, reject, withdraw,
federate."""

import contextlib
import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app import outbox
from requests_app.audit import REQUESTER_LABEL
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    Channel,
    ContactRole,
    FederationRequest,
    Organisation,
    OutboxMessage,
    RequestedDomain,
    State,
)
from requests_app.services.check_runs import CHECK_TASK, check_run_start
from requests_app.services.contacts import ContactDetails
from requests_app.services.domain_names import clean_domain
from requests_app.services.lifecycle import (
    SEND_EMAIL_TASK,
    request_federate,
    request_reject,
    request_review,
    request_submit,
    request_withdraw,
)
from tests.factories import (
    FederationRequestFactory,
    OrganisationFactory,
    UserFactory,
    complete_check_run,
)
from tests.helpers import (
    assert_untouched,
    audit_trail,
    finish_check_runs,
    outbox_rows,
    reload,
    submit_lakeside_care,
)

pytestmark = pytest.mark.django_db

UNPRIVILEGED = ["outsider_user", "service_desk_user"]
OPEN = [State.SUBMITTED, State.REVIEWED, State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED]
NOT_OPEN = [State.FEDERATED, State.REJECTED, State.WITHDRAWN]


def email_job(req, kind: str, key: str = "") -> tuple:
    return (SEND_EMAIL_TASK, {"request_id": req.pk, "kind": kind, "key": key or kind})


def check_jobs(req) -> list[tuple]:
    """The domain check tasks of the request's (only) check run."""
    run = req.check_runs.get()
    return [
        (CHECK_TASK, {"run_id": run.pk, "domain": name})
        for name in req.domains.order_by("name").values_list("name", flat=True)
    ]


# -- request_submit ------------------------------------------------------------------------------


def submission(**overrides) -> dict:
    values = {
        "organisation_name": "  Example Community Hospice ",
        "ods_code": " abc12 ",
        "has_nhsmail_presence": False,
        "domains": ["Hospice.Example.org.uk.", "BÜCHER.example.org.uk"],
        "justification": "  Teams calls with the ward team  ",
        "requester_name": " Robin Requester ",
        "requester_email": " robin@hospice.example.org.uk ",
        "spoc": ContactDetails("Sam Spoc", "IT Manager", "sam@hospice.example.org.uk", "0123"),
        "technical_contact": ContactDetails(
            "Tess Tech", "Teams Administrator", "tess@hospice.example.org.uk"
        ),
    }
    values.update(overrides)
    return values


def test_public_submission_records_the_request_with_its_domains_and_contacts():
    req = request_submit(**submission())

    req = reload(req)
    assert req.state == State.SUBMITTED
    assert req.channel == Channel.SELF_SERVICE
    assert req.raised_by is None
    assert req.reference == f"FR-{req.pk:06d}"
    assert req.requester_name == "Robin Requester"
    assert req.requester_email == "robin@hospice.example.org.uk"
    assert req.justification == "Teams calls with the ward team"
    assert req.organisation.name == "Example Community Hospice"
    assert req.organisation.ods_code == "ABC12"
    assert sorted(req.domains.values_list("name", "is_live")) == [
        ("hospice.example.org.uk", True),
        ("xn--bcher-kva.example.org.uk", True),
    ]
    assert sorted(req.contacts.values_list("role", "name")) == [
        (ContactRole.SPOC, "Sam Spoc"),
        (ContactRole.TECHNICAL, "Tess Tech"),
    ]


def test_public_submission_is_audited_as_the_requester_and_queues_the_confirmation_email():
    req = request_submit(**submission())

    assert audit_trail(req) == [
        ("request.submitted", "", State.SUBMITTED, None),
        ("checks.requested", "", "", None),
    ]
    event = AuditEvent.objects.get(request=req, action="request.submitted")
    assert event.actor_label == "Robin Requester <robin@hospice.example.org.uk>"
    assert "Self-service" in event.message
    assert "hospice.example.org.uk" in event.message
    assert outbox_rows() == [email_job(req, "submitted"), *check_jobs(req)]


def test_the_service_desk_raises_a_request_on_an_organisations_behalf(service_desk_user):
    req = request_submit(
        **submission(), actor=service_desk_user, on_behalf_reason="  No NHSmail presence. "
    )

    req = reload(req)
    assert req.channel == Channel.SERVICE_DESK
    assert req.raised_by == service_desk_user
    assert req.raised_on_behalf_reason == "No NHSmail presence."
    assert audit_trail(req) == [
        ("request.submitted", "", State.SUBMITTED, service_desk_user),
        ("checks.requested", "", "", service_desk_user),
    ]
    assert {event.actor_label for event in AuditEvent.objects.filter(request=req)} == {
        "sid.servicedesk"
    }
    assert outbox_rows() == [email_job(req, "submitted"), *check_jobs(req)]


def test_the_service_desk_must_say_why_it_raises_a_request(service_desk_user):
    with pytest.raises(ActionRefused, match="Say why the service desk is raising"):
        request_submit(**submission(), actor=service_desk_user, on_behalf_reason="   ")
    assert FederationRequest.objects.count() == 0
    assert AuditEvent.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


@pytest.mark.parametrize("who", ["outsider_user", "feedback_user"])
def test_only_the_service_desk_may_raise_a_request_on_behalf(request, who):
    actor = request.getfixturevalue(who)
    with pytest.raises(ActionRefused, match="do not have permission to raise requests"):
        request_submit(**submission(), actor=actor, on_behalf_reason="Asked by phone.")
    assert FederationRequest.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert AuditEvent.objects.count() == 0


def test_submission_with_refused_domains_records_nothing_and_says_why():
    AllowListEntry.objects.create(
        domain="federated.example.org.uk", effective_date="2025-01-01", source="import"
    )
    with pytest.raises(ActionRefused) as refusal:
        request_submit(**submission(domains=["federated.example.org.uk", "co.uk", "ok.example"]))
    message = str(refusal.value)
    assert "already federated" in message
    assert "public suffix" in message
    assert FederationRequest.objects.count() == 0
    assert Organisation.objects.count() == 0
    assert RequestedDomain.objects.count() == 0
    assert OutboxMessage.objects.count() == 0


def test_submission_of_a_domain_held_by_an_open_request_is_refused_naming_it_to_staff_only(
    service_desk_user,
):
    holder = FederationRequestFactory(domains=["held.example.org.uk"])
    with pytest.raises(ActionRefused) as refusal:
        request_submit(**submission(domains=["HELD.example.org.uk"]))
    assert "still open" in str(refusal.value)
    assert holder.reference not in str(refusal.value)
    with pytest.raises(ActionRefused) as refusal:
        request_submit(
            **submission(domains=["held.example.org.uk"]),
            actor=service_desk_user,
            on_behalf_reason="No NHSmail presence.",
        )
    assert holder.reference in str(refusal.value)
    assert FederationRequest.objects.count() == 1


def test_submission_needs_a_domain_and_at_most_fifty():
    with pytest.raises(ActionRefused, match="Enter at least one domain"):
        request_submit(**submission(domains=[]))
    too_many = [f"site{n}.example.org.uk" for n in range(51)]
    with pytest.raises(ActionRefused, match="at most 50 domains"):
        request_submit(**submission(domains=too_many))
    assert FederationRequest.objects.count() == 0


def test_fifty_domains_are_accepted():
    req = request_submit(**submission(domains=[f"site{n}.example.org.uk" for n in range(50)]))
    assert req.domains.count() == 50


def test_submission_with_a_malformed_ods_code_is_refused_saying_what_it_looks_like():
    with pytest.raises(ActionRefused, match="3 to 6 letters and numbers"):
        request_submit(**submission(ods_code="AB-12"))
    assert FederationRequest.objects.count() == 0
    assert Organisation.objects.count() == 0


def test_a_known_ods_code_does_not_attach_a_public_request_to_that_organisation():
    existing = OrganisationFactory(name="Somebody Else's Trust", ods_code="ABC12")
    req = request_submit(**submission(ods_code="abc12"))
    assert req.organisation != existing
    assert req.organisation.name == "Example Community Hospice"
    assert Organisation.objects.count() == 2


def test_a_domain_freed_by_rejection_can_be_requested_again(feedback_user):
    first = request_submit(**submission(domains=["hospice.example.org.uk"]))
    request_reject(request_id=first.pk, actor=feedback_user, reason="Not an NHS partner.")

    second = request_submit(**submission(domains=["hospice.example.org.uk"]))

    assert RequestedDomain.objects.get(request=first).is_live is False
    assert RequestedDomain.objects.get(request=second).is_live is True


# -- request_review ------------------------------------------------------------------------------


def test_review_moves_the_request_on_and_records_who_reviewed_it(feedback_user):
    req = FederationRequestFactory()

    request_review(request_id=req.pk, actor=feedback_user, notes="DNS and ODS checked.")

    req = reload(req)
    assert req.state == State.REVIEWED
    assert req.reviewed_by == feedback_user
    assert req.review_notes == "DNS and ODS checked."
    assert timezone.now() - req.reviewed_at < datetime.timedelta(minutes=1)
    assert audit_trail(req) == [
        ("request.reviewed", State.SUBMITTED, State.REVIEWED, feedback_user)
    ]
    event = AuditEvent.objects.get(request=req)
    assert event.actor_label == "fiona.feedback"
    assert event.message == "DNS and ODS checked."
    assert OutboxMessage.objects.count() == 0


def test_review_needs_notes(feedback_user):
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="Write the review notes"):
        request_review(request_id=req.pk, actor=feedback_user, notes="  ")
    assert_untouched(req, State.SUBMITTED)


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_review_is_refused_without_permission(request, who):
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="do not have permission to review requests"):
        request_review(request_id=req.pk, actor=request.getfixturevalue(who), notes="Looks fine.")
    assert_untouched(req, State.SUBMITTED)


def test_a_deactivated_feedback_team_member_may_not_review():
    former = UserFactory(username="former.member", groups=["Feedback team"], is_active=False)
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="do not have permission"):
        request_review(request_id=req.pk, actor=former, notes="Looks fine.")
    assert_untouched(req, State.SUBMITTED)


@pytest.mark.parametrize("state", [s for s in State if s != State.SUBMITTED])
def test_review_is_refused_from_any_other_state_naming_it(feedback_user, state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    message = str(refusal.value)
    assert f"Request {req.reference} is now “{state.label}”" in message
    assert "cannot be reviewed" in message
    assert_untouched(req, state)


def test_review_waits_for_the_domain_checks_of_the_submission(feedback_user):
    req = submit_lakeside_care()
    events = audit_trail(req)

    with pytest.raises(ActionRefused, match="The domain checks are running"):
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert reload(req).state == State.SUBMITTED
    assert audit_trail(req) == events

    finish_check_runs(req)
    request_review(request_id=req.pk, actor=feedback_user, notes="DMARC is at reject.")
    assert reload(req).state == State.REVIEWED


def test_accepting_a_domain_with_a_failed_check_needs_a_reason_kept_in_the_audit(feedback_user):
    req = submit_lakeside_care()
    finish_check_runs(req, status="fail")  # a failed check is the reviewer's to judge, aloud

    with pytest.raises(ActionRefused) as refusal:
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert "The latest domain checks failed for: lakeside-care.example.org.uk: dmarc" in str(
        refusal.value
    )
    assert reload(req).state == State.SUBMITTED

    request_review(
        request_id=req.pk,
        actor=feedback_user,
        notes="DMARC fails today.",
        override_reason="They move to p=reject this week; evidence is checked before federation.",
    )
    assert reload(req).state == State.REVIEWED
    event = AuditEvent.objects.get(request=req, action="request.reviewed")
    assert "Accepted despite failed checks (lakeside-care.example.org.uk: dmarc)" in event.message
    assert "They move to p=reject this week" in event.message


def test_checks_that_could_not_be_made_are_not_a_pass_for_the_review(feedback_user):
    # Issue 11: a run whose queries were all answered SERVFAIL is never a pass.
    req = submit_lakeside_care()
    finish_check_runs(req, status="error")

    with pytest.raises(ActionRefused) as refusal:
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert (
        "could not be made (the DNS queries got no answer) for: lakeside-care.example.org.uk: dmarc"
        in str(refusal.value)
    )
    assert reload(req).state == State.SUBMITTED

    request_review(
        request_id=req.pk,
        actor=feedback_user,
        notes="Their name servers were down; checked by hand with dig.",
        override_reason="DMARC p=reject seen by hand at 09:10.",
    )
    event = AuditEvent.objects.get(request=req, action="request.reviewed")
    assert (
        "Accepted despite checks that could not be made (lakeside-care.example.org.uk: dmarc)"
        in event.message
    )


def test_review_is_refused_when_the_checks_never_ran(feedback_user):
    req = FederationRequestFactory(checked=False)
    with pytest.raises(ActionRefused, match="The domain checks have not been run"):
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert_untouched(req, State.SUBMITTED)


def test_review_is_refused_on_checks_older_than_the_configured_age(feedback_user, settings):
    settings.REVIEW_CHECKS_MAX_AGE_HOURS = 72
    req = FederationRequestFactory(checked=False)
    old = timezone.now() - datetime.timedelta(hours=73)
    complete_check_run(req, requested_at=old, completed_at=old)

    with pytest.raises(ActionRefused) as refusal:
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert "more than 72 hours ago. Run the checks again" in str(refusal.value)
    assert f"{old:%d %B %Y at %H:%M} UTC" in str(refusal.value)
    assert_untouched(req, State.SUBMITTED)

    settings.REVIEW_CHECKS_MAX_AGE_HOURS = 74
    request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")
    assert reload(req).state == State.REVIEWED


def test_a_new_run_in_progress_holds_the_review_back_even_after_an_older_complete_one(
    feedback_user,
):
    req = submit_lakeside_care()
    finish_check_runs(req)
    check_run_start(request_id=req.pk, actor=feedback_user)  # someone asked for fresh results

    with pytest.raises(ActionRefused, match="The domain checks are running"):
        request_review(request_id=req.pk, actor=feedback_user, notes="Looks fine.")


def test_acting_on_a_request_that_does_not_exist_is_refused_in_words(feedback_user):
    with pytest.raises(ActionRefused, match="That request does not exist"):
        request_review(request_id=999_999, actor=feedback_user, notes="Looks fine.")


# -- request_reject ------------------------------------------------------------------------------


@pytest.mark.parametrize("state", OPEN)
def test_reject_closes_the_request_frees_its_domains_and_emails(feedback_user, state):
    req = FederationRequestFactory(state=state, domains=["a.example.org.uk", "b.example.org.uk"])

    request_reject(request_id=req.pk, actor=feedback_user, reason="DMARC is p=none.")

    req = reload(req)
    assert req.state == State.REJECTED
    assert req.closed_reason == "DMARC is p=none."
    assert timezone.now() - req.closed_at < datetime.timedelta(minutes=1)
    assert list(req.domains.values_list("is_live", flat=True)) == [False, False]
    assert clean_domain("a.example.org.uk") == "a.example.org.uk"
    assert audit_trail(req) == [("request.rejected", state, State.REJECTED, feedback_user)]
    assert AuditEvent.objects.get(request=req).message == "DMARC is p=none."
    assert outbox_rows() == [email_job(req, "rejected")]


def test_reject_needs_a_reason_the_requester_will_see(feedback_user):
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="Give the reason for rejecting"):
        request_reject(request_id=req.pk, actor=feedback_user, reason=" ")
    assert_untouched(req, State.SUBMITTED)
    assert req.domains.get().is_live is True


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_reject_is_refused_without_permission(request, who):
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="do not have permission to reject requests"):
        request_reject(request_id=req.pk, actor=request.getfixturevalue(who), reason="No.")
    assert_untouched(req, State.SUBMITTED)
    assert req.domains.get().is_live is True


def test_the_requester_cannot_reject_through_the_status_link():
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="do not have permission"):
        request_reject(request_id=req.pk, actor=None, reason="Changed my mind.")
    assert_untouched(req, State.SUBMITTED)


@pytest.mark.parametrize("state", NOT_OPEN)
def test_reject_is_refused_once_the_request_is_closed_or_federated(feedback_user, state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        request_reject(request_id=req.pk, actor=feedback_user, reason="No.")
    assert f"is now “{state.label}”, so it cannot be rejected" in str(refusal.value)
    assert_untouched(req, state)
    assert req.domains.get().is_live is True  # a federated domain stays held


# -- request_withdraw ----------------------------------------------------------------------------


@pytest.mark.parametrize("state", OPEN)
def test_staff_withdraw_a_request_and_its_domains_are_freed(feedback_user, state):
    req = FederationRequestFactory(state=state)

    request_withdraw(request_id=req.pk, actor=feedback_user, reason="Asked by the trust.")

    req = reload(req)
    assert req.state == State.WITHDRAWN
    assert req.closed_reason == "Asked by the trust."
    assert req.closed_at is not None
    assert req.domains.get().is_live is False
    assert audit_trail(req) == [("request.withdrawn", state, State.WITHDRAWN, feedback_user)]
    assert outbox_rows() == [email_job(req, "withdrawn")]


def test_the_requester_withdraws_through_the_status_link_without_a_reason():
    req = FederationRequestFactory(state=State.FPA_SENT)

    request_withdraw(request_id=req.pk, actor=None)

    req = reload(req)
    assert req.state == State.WITHDRAWN
    assert req.closed_reason == ""
    assert req.domains.get().is_live is False
    assert audit_trail(req) == [("request.withdrawn", State.FPA_SENT, State.WITHDRAWN, None)]
    assert AuditEvent.objects.get(request=req).actor_label == REQUESTER_LABEL
    assert outbox_rows() == [email_job(req, "withdrawn")]


@pytest.mark.parametrize("who", UNPRIVILEGED)
def test_withdraw_is_refused_without_permission(request, who):
    req = FederationRequestFactory()
    with pytest.raises(ActionRefused, match="do not have permission to withdraw requests"):
        request_withdraw(request_id=req.pk, actor=request.getfixturevalue(who), reason="x")
    assert_untouched(req, State.SUBMITTED)
    assert req.domains.get().is_live is True


@pytest.mark.parametrize("state", NOT_OPEN)
def test_withdraw_is_refused_once_the_request_is_closed_or_federated(state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        request_withdraw(request_id=req.pk, actor=None)
    assert f"is now “{state.label}”, so it cannot be withdrawn" in str(refusal.value)
    assert_untouched(req, state)


# -- request_federate ----------------------------------------------------------------------------


def test_federate_puts_every_domain_on_the_allow_list_from_the_effective_date(feedback_user):
    req = FederationRequestFactory(
        state=State.EVIDENCE_VERIFIED, domains=["a.example.org.uk", "xn--bcher-kva.example.org.uk"]
    )
    effective = datetime.date(2026, 3, 2)

    request_federate(request_id=req.pk, actor=feedback_user, effective_date=effective)

    req = reload(req)
    assert req.state == State.FEDERATED
    assert req.effective_date == effective
    assert req.federated_at is not None
    entries = AllowListEntry.objects.order_by("domain")
    assert [(e.domain, e.effective_date, e.request_id, e.added_by, e.source) for e in entries] == [
        ("a.example.org.uk", effective, req.pk, feedback_user, "portal"),
        ("xn--bcher-kva.example.org.uk", effective, req.pk, feedback_user, "portal"),
    ]
    assert audit_trail(req) == [
        ("request.federated", State.EVIDENCE_VERIFIED, State.FEDERATED, feedback_user)
    ]
    assert "Effective from 02 March 2026" in AuditEvent.objects.get(request=req).message
    assert outbox_rows() == [email_job(req, "federated")]
    # The domains stay held: nobody can request them again.
    assert list(req.domains.values_list("is_live", flat=True)) == [True, True]


def test_federate_takes_effect_today_by_default(feedback_user):
    req = FederationRequestFactory(state=State.EVIDENCE_VERIFIED)
    request_federate(request_id=req.pk, actor=feedback_user)
    assert reload(req).effective_date == timezone.localdate()
    assert AllowListEntry.objects.get().effective_date == timezone.localdate()


def test_federate_is_refused_when_a_domain_is_already_on_the_allow_list(feedback_user):
    req = FederationRequestFactory(
        state=State.EVIDENCE_VERIFIED, domains=["new.example.org.uk", "old.example.org.uk"]
    )
    AllowListEntry.objects.create(
        domain="old.example.org.uk", effective_date="2024-01-01", source="import"
    )

    with pytest.raises(ActionRefused) as refusal:
        request_federate(request_id=req.pk, actor=feedback_user)

    assert "Already on the allow list: old.example.org.uk" in str(refusal.value)
    assert_untouched(req, State.EVIDENCE_VERIFIED)
    assert list(AllowListEntry.objects.values_list("domain", flat=True)) == ["old.example.org.uk"]


@pytest.mark.parametrize("who", [*UNPRIVILEGED, None])
def test_federate_is_refused_without_permission(request, who):
    actor = request.getfixturevalue(who) if who else None
    req = FederationRequestFactory(state=State.EVIDENCE_VERIFIED)
    with pytest.raises(ActionRefused, match="do not have permission to federate requests"):
        request_federate(request_id=req.pk, actor=actor)
    assert_untouched(req, State.EVIDENCE_VERIFIED)
    assert AllowListEntry.objects.count() == 0


@pytest.mark.parametrize("state", [s for s in State if s != State.EVIDENCE_VERIFIED])
def test_federate_is_refused_from_any_other_state_naming_it(feedback_user, state):
    req = FederationRequestFactory(state=state)
    with pytest.raises(ActionRefused) as refusal:
        request_federate(request_id=req.pk, actor=feedback_user)
    assert f"is now “{state.label}”, so it cannot be federated" in str(refusal.value)
    assert_untouched(req, state)
    assert AllowListEntry.objects.count() == 0


def test_federate_checks_permission_and_state_before_looking_at_the_allow_list(
    outsider_user, feedback_user
):
    # Someone without the permission learns nothing about the allow list, and a stale click
    # on a request no longer awaiting federation is told where the request stands.
    AllowListEntry.objects.create(
        domain="old.example.org.uk", effective_date="2024-01-01", source="import"
    )
    waiting = FederationRequestFactory(
        state=State.EVIDENCE_VERIFIED, domains=["old.example.org.uk"]
    )
    with pytest.raises(ActionRefused) as refusal:
        request_federate(request_id=waiting.pk, actor=outsider_user)
    assert "do not have permission" in str(refusal.value)
    assert "old.example.org.uk" not in str(refusal.value)

    closed = FederationRequestFactory(state=State.WITHDRAWN, domains=[])
    RequestedDomain.objects.create(request=closed, name="old.example.org.uk", is_live=False)
    with pytest.raises(ActionRefused, match="is now “Withdrawn”, so it cannot be federated"):
        request_federate(request_id=closed.pk, actor=feedback_user)
    assert AuditEvent.objects.count() == 0


# -- one transaction: state, audit and outbox together -------------------------------------------


def test_a_job_is_published_only_after_the_commit(
    feedback_user, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(outbox, "publish", published.append)
    req = FederationRequestFactory()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_reject(request_id=req.pk, actor=feedback_user, reason="Not eligible.")
        assert published == []  # not while the transaction is open

    assert len(callbacks) == 1
    callbacks[0]()
    assert published == [OutboxMessage.objects.get().pk]


def test_a_rolled_back_action_leaves_no_state_change_audit_or_job(feedback_user):
    req = FederationRequestFactory()

    with pytest.raises(RuntimeError), transaction.atomic():
        request_reject(request_id=req.pk, actor=feedback_user, reason="Not eligible.")
        raise RuntimeError("the caller's transaction fails after the service returned")

    assert_untouched(req, State.SUBMITTED)
    assert req.domains.get().is_live is True


def test_a_refused_action_schedules_nothing_after_commit(
    outsider_user, django_capture_on_commit_callbacks
):
    req = FederationRequestFactory()
    with (
        django_capture_on_commit_callbacks(execute=False) as callbacks,
        pytest.raises(ActionRefused),
    ):
        request_reject(request_id=req.pk, actor=outsider_user, reason="No.")
    assert callbacks == []


# -- the database's own guards -------------------------------------------------------------------


def test_the_database_refuses_an_unknown_state_even_through_queryset_update():
    req = FederationRequestFactory()
    with (
        pytest.raises(IntegrityError, match="federationrequest_state_valid"),
        transaction.atomic(),
    ):
        FederationRequest.objects.filter(pk=req.pk).update(state="bogus")
    assert reload(req).state == State.SUBMITTED


def test_the_state_cannot_be_assigned_directly():
    req = FederationRequestFactory()
    with pytest.raises(AttributeError):
        req.state = State.FEDERATED
    assert reload(req).state == State.SUBMITTED


def test_an_audit_event_cannot_be_changed_or_deleted(feedback_user):
    req = FederationRequestFactory()
    request_review(request_id=req.pk, actor=feedback_user, notes="Checked.")
    event = AuditEvent.objects.get(request=req)

    event.message = "Nothing was checked."
    with pytest.raises(ValidationError, match="cannot be changed"):
        event.save()
    with pytest.raises(ValidationError, match="cannot be deleted"):
        event.delete()

    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.message == "Checked."


def test_audit_events_cannot_be_rewritten_or_deleted_in_bulk(feedback_user):
    req = FederationRequestFactory()
    request_review(request_id=req.pk, actor=feedback_user, notes="Checked.")

    for attempt in (
        lambda: AuditEvent.objects.filter(request=req).update(message="Nothing was checked."),
        lambda: AuditEvent.objects.filter(request=req).delete(),
    ):
        with contextlib.suppress(Exception), transaction.atomic():
            attempt()  # a refusal of any kind would do

    assert list(AuditEvent.objects.filter(request=req).values_list("message", flat=True)) == [
        "Checked."
    ]
