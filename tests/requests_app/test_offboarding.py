"""Offboarding: the organisation's SPOC or signatory asks to end the agreement, the Feedback
team confirms (federated or suspended -> offboarded, through the one door) or declines; the
domains leave the allow list from the notice date, entries ended and nothing deleted."""

from datetime import timedelta

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.emails import send_offboarding_email
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    Contact,
    ContactRole,
    OffboardingAsk,
    OffboardingDecision,
    OutboxMessage,
    RequestedDomain,
    State,
)
from requests_app.selectors import (
    allow_list_change_set,
    allow_list_rows,
    domain_unavailable_reason,
    pending_offboarding_ask,
)
from requests_app.services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
)
from requests_app.services.lifecycle import request_federate
from requests_app.services.offboarding import (
    OFFBOARDING_EMAIL_TASK,
    request_offboard,
    request_offboarding_ask,
    request_offboarding_decline,
)
from requests_app.services.suspension import request_revoke, request_suspend
from tests.factories import UserFactory, request_in
from tests.helpers import reload

pytestmark = pytest.mark.django_db

DOMAIN = "quayside.example.org.uk"
SIGNATORY = "dana.director@quayside.example.org.uk"


@pytest.fixture
def federated(feedback_user):
    req = request_in(
        State.EVIDENCE_VERIFIED, feedback_user, domains=[DOMAIN], fpa_sent_at=timezone.now()
    )
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email=SIGNATORY,
    )
    request_federate(request_id=req.pk, actor=feedback_user)
    return reload(req)


def spoc_email(req) -> str:
    return req.contacts.get(role=ContactRole.SPOC, removed_at__isnull=True).email


def tech_email(req) -> str:
    return req.contacts.get(role=ContactRole.TECHNICAL).email


def ask(req, *, email=None, reason="We are moving to NHSmail.", notice_date=None):
    return request_offboarding_ask(
        request_id=req.pk,
        actor_email=email or spoc_email(req),
        reason=reason,
        notice_date=notice_date or timezone.localdate(),
    )


def offboarding_rows(req) -> list[tuple]:
    """The audit rows of offboarding, with who acted as the log names them."""
    return [
        (event.action, event.from_state, event.to_state, event.actor, event.actor_label)
        for event in AuditEvent.objects.filter(request=req, action__contains="offboard").order_by(
            "pk"
        )
    ]


def emails_queued(req) -> list[dict]:
    asks = set(OffboardingAsk.objects.filter(request=req).values_list("pk", flat=True))
    return [
        row.kwargs
        for row in OutboxMessage.objects.filter(task_name=OFFBOARDING_EMAIL_TASK).order_by("pk")
        if row.kwargs["ask_id"] in asks
    ]


# -- the ask ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["spoc", "signatory"])
def test_the_spoc_or_the_signatory_asks_and_it_is_audited_under_their_email(federated, who):
    email = spoc_email(federated) if who == "spoc" else SIGNATORY
    later = timezone.localdate() + timedelta(days=30)

    asked = ask(federated, email=email.upper(), notice_date=later)

    assert (asked.asked_by_email, asked.notice_date, asked.decision) == (
        email,
        later,
        OffboardingDecision.PENDING,
    )
    assert offboarding_rows(federated) == [("request.offboarding_asked", "", "", None, email)]
    assert AuditEvent.objects.get(action="request.offboarding_asked").message == (
        f"Off the allow list from {later:%d %B %Y}. We are moving to NHSmail."
    )
    assert reload(federated).state == State.FEDERATED  # nothing changes until staff confirm
    assert emails_queued(federated) == [{"ask_id": asked.pk, "kind": "asked"}]
    assert pending_offboarding_ask(federated) == asked


def test_a_technical_contact_may_not_ask(federated):
    with pytest.raises(ActionRefused, match="Only the request's SPOC or signatory can ask"):
        ask(federated, email=tech_email(federated))
    assert offboarding_rows(federated) == []


def test_to_someone_else_the_request_does_not_exist(federated, feedback_user):
    other = request_in(State.FEDERATED, feedback_user)
    with pytest.raises(ActionRefused, match="That request does not exist"):
        ask(federated, email=spoc_email(other))
    removed = Contact.objects.filter(request=federated, role=ContactRole.SIGNATORY)
    removed.update(removed_at=timezone.now())  # a former signatory is nobody now
    with pytest.raises(ActionRefused, match="That request does not exist"):
        ask(federated, email=SIGNATORY)
    assert not OffboardingAsk.objects.exists()


@pytest.mark.parametrize(
    "state", [State.SUBMITTED, State.EVIDENCE_VERIFIED, State.REVOKED, State.OFFBOARDED]
)
def test_only_an_agreement_in_force_can_be_ended(feedback_user, state):
    req = request_in(state, feedback_user)
    with pytest.raises(ActionRefused, match="only an agreement in force"):
        ask(req)
    assert not OffboardingAsk.objects.exists()


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        ({"reason": "  "}, "Say why your organisation is ending the agreement"),
        (
            {"notice_date": timezone.localdate() - timedelta(days=1)},
            "The notice date cannot be in the past",
        ),
    ],
)
def test_an_ask_needs_a_reason_and_a_date_not_past(federated, arguments, sentence):
    with pytest.raises(ActionRefused, match=sentence):
        ask(federated, **arguments)
    assert not OffboardingAsk.objects.exists()


def test_one_ask_waits_at_a_time(federated):
    ask(federated)

    with pytest.raises(ActionRefused, match="has asked to end this agreement already"):
        ask(federated, email=SIGNATORY)
    # The database holds the rule too, whatever writes the row.
    with pytest.raises(IntegrityError), transaction.atomic():
        OffboardingAsk.objects.create(
            request=federated, asked_by_email=SIGNATORY, reason="x", notice_date=timezone.now()
        )
    assert OffboardingAsk.objects.count() == 1


# -- confirm ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("from_state", [State.FEDERATED, State.SUSPENDED])
def test_confirming_offboards_ends_the_entries_and_frees_the_domains(
    federated, feedback_user, from_state
):
    if from_state == State.SUSPENDED:
        later = timezone.localdate() + timedelta(days=60)
        request_suspend(
            request_id=federated.pk, actor=feedback_user, reason="DMARC.", effective_date=later
        )
    asked = ask(federated)
    today = timezone.localdate()

    req = reload(request_offboard(request_id=federated.pk, actor=feedback_user))

    assert req.state == State.OFFBOARDED
    assert (req.closed_reason, req.closed_at is not None) == ("We are moving to NHSmail.", True)
    assert offboarding_rows(req) == [
        ("request.offboarding_asked", "", "", None, spoc_email(req)),
        ("request.offboarded", from_state, State.OFFBOARDED, feedback_user, "fiona.feedback"),
    ]
    assert AuditEvent.objects.get(action="request.offboarded").message == (
        f"Off the allow list from {today:%d %B %Y}, as {spoc_email(req)} asked. "
        "We are moving to NHSmail."
    )
    asked.refresh_from_db()
    assert (asked.decision, asked.decided_by) == (OffboardingDecision.OFFBOARDED, feedback_user)
    entry = AllowListEntry.objects.get(domain=DOMAIN)  # ended, not deleted
    assert (entry.effective_to, entry.ended_by, entry.end_reason) == (
        today,  # the notice date comes before a suspension's later end
        feedback_user,
        "Offboarded: We are moving to NHSmail.",
    )
    assert allow_list_rows(on_date=today) == []
    assert not RequestedDomain.objects.filter(name=DOMAIN, is_live=True).exists()
    assert domain_unavailable_reason(DOMAIN) == ""  # it may be requested again
    assert pending_offboarding_ask(req) is None
    assert [job["kind"] for job in emails_queued(req)] == ["asked", "offboarded"]


def test_a_suspension_ended_earlier_keeps_its_end(federated, feedback_user):
    request_suspend(request_id=federated.pk, actor=feedback_user, reason="DMARC.")
    ask(federated, notice_date=timezone.localdate() + timedelta(days=10))

    request_offboard(request_id=federated.pk, actor=feedback_user)

    entry = AllowListEntry.objects.get(domain=DOMAIN)
    assert (entry.effective_to, entry.end_reason) == (timezone.localdate(), "Suspended: DMARC.")


def test_confirming_after_the_notice_date_ends_the_entries_that_day_not_in_the_past(
    federated, feedback_user
):
    ask(federated)  # today
    with time_machine.travel(timezone.now() + timedelta(days=5)):
        request_offboard(request_id=federated.pk, actor=feedback_user)
        today = timezone.localdate()
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to == today
    assert f"Off the allow list from {today:%d %B %Y}" in (
        AuditEvent.objects.get(action="request.offboarded").message
    )


def test_confirming_is_refused_without_permission(federated, service_desk_user):
    ask(federated)

    with pytest.raises(ActionRefused, match="You do not have permission to confirm or decline"):
        request_offboard(request_id=federated.pk, actor=service_desk_user)

    assert reload(federated).state == State.FEDERATED
    assert [row[0] for row in offboarding_rows(federated)] == ["request.offboarding_asked"]
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to is None


def test_confirming_is_refused_without_an_ask(federated, feedback_user):
    with pytest.raises(ActionRefused, match="Nobody from the organisation has asked to end"):
        request_offboard(request_id=federated.pk, actor=feedback_user)
    assert reload(federated).state == State.FEDERATED
    assert offboarding_rows(federated) == []


def test_confirming_is_refused_from_the_wrong_state(federated, feedback_user):
    colleague = UserFactory(username="femi.feedback", groups=["Feedback team"])
    ask(federated)
    request_suspend(request_id=federated.pk, actor=feedback_user, reason="DMARC.")
    request_revoke(request_id=federated.pk, actor=colleague, reason="Not fixed.")

    with pytest.raises(ActionRefused, match="is now “Revoked”, so it cannot be offboarded"):
        request_offboard(request_id=federated.pk, actor=feedback_user)

    assert reload(federated).state == State.REVOKED
    # Revoking declined the ask with it: nothing is left to decide.
    assert [row[0] for row in offboarding_rows(federated)] == [
        "request.offboarding_asked",
        "request.offboarding_declined",
    ]
    assert pending_offboarding_ask(reload(federated)) is None


def test_confirming_twice_is_refused_in_words(federated, feedback_user):
    ask(federated)
    request_offboard(request_id=federated.pk, actor=feedback_user)

    with pytest.raises(ActionRefused, match="is now “Offboarded”, so it cannot be offboarded"):
        request_offboard(request_id=federated.pk, actor=feedback_user)
    assert len(offboarding_rows(federated)) == 2


# -- decline ---------------------------------------------------------------------------------------


def test_declining_keeps_the_agreement_audits_and_emails(federated, feedback_user):
    asked = ask(federated)

    request_offboarding_decline(
        request_id=federated.pk, actor=feedback_user, reason="Ask your signatory first."
    )

    asked.refresh_from_db()
    assert (asked.decision, asked.decided_by, asked.decline_reason) == (
        OffboardingDecision.DECLINED,
        feedback_user,
        "Ask your signatory first.",
    )
    assert offboarding_rows(federated)[1:] == [
        ("request.offboarding_declined", "", "", feedback_user, "fiona.feedback")
    ]
    assert reload(federated).state == State.FEDERATED
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to is None
    assert [job["kind"] for job in emails_queued(federated)] == ["asked", "declined"]
    ask(federated, email=SIGNATORY)  # once decided, the organisation may ask again


def test_declining_needs_a_reason_permission_and_an_ask(
    federated, feedback_user, service_desk_user
):
    with pytest.raises(ActionRefused, match="No ask to end the agreement"):
        request_offboarding_decline(request_id=federated.pk, actor=feedback_user, reason="x")
    ask(federated)
    with pytest.raises(ActionRefused, match="Give the reason for declining"):
        request_offboarding_decline(request_id=federated.pk, actor=feedback_user, reason=" ")
    with pytest.raises(ActionRefused, match="You do not have permission to confirm or decline"):
        request_offboarding_decline(request_id=federated.pk, actor=service_desk_user, reason="x")
    assert [row[0] for row in offboarding_rows(federated)] == ["request.offboarding_asked"]


# -- the allow list's change set -------------------------------------------------------------------


def record_applied(actor):
    export = allow_list_change_set_export(fmt="csv", actor=actor)
    return allow_list_change_set_applied(fmt="csv", sha256=export.sha256, actor=actor)


def test_a_later_notice_date_removes_the_domain_from_the_change_set_only_from_then(
    federated, feedback_user
):
    record_applied(feedback_user)
    notice = timezone.localdate() + timedelta(days=14)
    ask(federated, notice_date=notice)
    request_offboard(request_id=federated.pk, actor=feedback_user)

    assert (allow_list_change_set().add, allow_list_change_set().remove) == ([], [])
    with time_machine.travel(timezone.now() + timedelta(days=13)):
        assert allow_list_change_set().remove == []
        assert [row.domain for row in allow_list_rows(on_date=timezone.localdate())] == [DOMAIN]
    with time_machine.travel(timezone.now() + timedelta(days=14)):
        change_set = allow_list_change_set()
        assert (change_set.add, change_set.remove) == ([], [DOMAIN])
        script = allow_list_change_set_export(fmt="teams-powershell", actor=feedback_user).text
        assert f'$remove.Add("{DOMAIN}")' in script


# -- emails ----------------------------------------------------------------------------------------


def test_the_organisation_is_emailed_at_each_step(federated, feedback_user, settings, mailoutbox):
    first = ask(federated, notice_date=timezone.localdate() + timedelta(days=7))
    request_offboarding_decline(
        request_id=federated.pk, actor=feedback_user, reason="Your signatory must agree."
    )
    second = ask(federated, email=SIGNATORY, reason="Signatory agrees.")
    request_offboard(request_id=federated.pk, actor=feedback_user)
    for job in emails_queued(federated):
        assert send_offboarding_email(**job)
        assert not send_offboarding_email(**job)  # sent once

    asked, declined, again, offboarded = mailoutbox
    ref = federated.reference
    assert asked.subject == f"Your organisation has asked to end its agreement ({ref})"
    assert asked.cc == [settings.FEEDBACK_TEAM_EMAIL]
    assert set(asked.to) == {federated.requester_email, spoc_email(federated), SIGNATORY}
    assert "Why: We are moving to NHSmail." in asked.body and DOMAIN in asked.body
    assert declined.subject == f"Your ask to end the agreement was declined ({ref})"
    assert "Why: Your signatory must agree." in declined.body
    assert again.cc == [settings.FEEDBACK_TEAM_EMAIL]
    assert offboarded.subject == f"Your Federation Partnering Agreement has ended ({ref})"
    assert set(offboarded.to) == set(asked.to)
    assert f"{timezone.localdate():%-d %B %Y} these domains are off" in offboarded.body
    asks = sorted({job["ask_id"] for job in emails_queued(federated)})
    assert asks == [first.pk, second.pk]
