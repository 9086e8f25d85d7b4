"""After federation: suspend, reinstate and revoke, each through the one door, and an allow
list that shrinks (entries end, nothing is deleted) with change sets for the tenant."""

from datetime import timedelta

import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.allow_list_formats import render_change_set
from requests_app.emails import send_request_email
from requests_app.models import (
    AllowListApplication,
    AllowListEntry,
    AuditEvent,
    OffboardingAsk,
    OffboardingDecision,
    OutboxMessage,
    RemediationCase,
    State,
)
from requests_app.selectors import allow_list_change_set, allow_list_rows
from requests_app.services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
)
from requests_app.services.check_runs import queue_check_run
from requests_app.services.lifecycle import request_federate
from requests_app.services.suspension import request_reinstate, request_revoke, request_suspend
from tests.factories import UserFactory, request_in
from tests.helpers import audit_trail, finish_check_runs, reload

pytestmark = pytest.mark.django_db

DOMAIN = "harbourside.example.org.uk"


@pytest.fixture
def colleague(db):
    return UserFactory(username="femi.feedback", groups=["Feedback team"])


@pytest.fixture
def federated(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[DOMAIN])
    request_federate(request_id=req.pk, actor=feedback_user)
    return reload(req)


def trail_since(req, action):
    return [row for row in audit_trail(req) if row[0] == action]


def emails_queued(req, kind):
    return [
        row.kwargs
        for row in OutboxMessage.objects.filter(task_name="requests_app.tasks.send_request_email")
        if row.kwargs["request_id"] == req.pk and row.kwargs["kind"] == kind
    ]


def record_applied(fmt, actor):
    export = allow_list_change_set_export(fmt=fmt, actor=actor)
    return allow_list_change_set_applied(fmt=fmt, sha256=export.sha256, actor=actor)


# -- suspend --------------------------------------------------------------------------------------


def test_suspending_ends_the_domains_entries_audits_and_emails(federated, feedback_user):
    today = timezone.localdate()

    req = request_suspend(request_id=federated.pk, actor=feedback_user, reason="DMARC is p=none.")

    req = reload(req)
    assert req.state == State.SUSPENDED
    assert (req.suspended_by, req.suspended_from, req.suspension_reason) == (
        feedback_user,
        today,
        "DMARC is p=none.",
    )
    assert trail_since(req, "request.suspended") == [
        ("request.suspended", State.FEDERATED, State.SUSPENDED, feedback_user)
    ]
    assert AuditEvent.objects.get(request=req, action="request.suspended").message == (
        f"Off the allow list from {today:%d %B %Y}. DMARC is p=none."
    )
    entry = AllowListEntry.objects.get(domain=DOMAIN)  # ended, not deleted
    assert (entry.effective_to, entry.ended_by, entry.end_reason) == (
        today,
        feedback_user,
        "Suspended: DMARC is p=none.",
    )
    assert allow_list_rows(on_date=today) == []
    assert len(emails_queued(req, "suspended")) == 1


def test_a_suspension_from_a_later_date_keeps_the_domain_listed_until_then(
    federated, feedback_user
):
    later = timezone.localdate() + timedelta(days=7)

    request_suspend(
        request_id=federated.pk, actor=feedback_user, reason="Notice given.", effective_date=later
    )

    assert [row.domain for row in allow_list_rows(on_date=later - timedelta(days=1))] == [DOMAIN]
    assert allow_list_rows(on_date=later) == []


@pytest.mark.parametrize(
    ("arguments", "sentence"),
    [
        ({"reason": "  "}, "Give the reason for suspending the request"),
        (
            {"reason": "x", "effective_date": timezone.localdate() - timedelta(days=1)},
            "The suspension cannot start in the past",
        ),
    ],
)
def test_a_suspension_needs_a_reason_and_a_date_not_past(
    federated, feedback_user, arguments, sentence
):
    with pytest.raises(ActionRefused, match=sentence):
        request_suspend(request_id=federated.pk, actor=feedback_user, **arguments)
    assert reload(federated).state == State.FEDERATED


def test_suspending_is_refused_without_permission_and_from_another_state(
    federated, service_desk_user, feedback_user
):
    with pytest.raises(ActionRefused, match="You do not have permission to suspend requests"):
        request_suspend(request_id=federated.pk, actor=service_desk_user, reason="x")
    reviewed = request_in(State.REVIEWED, feedback_user)
    with pytest.raises(ActionRefused, match="so it cannot be suspended"):
        request_suspend(request_id=reviewed.pk, actor=feedback_user, reason="x")
    assert trail_since(federated, "request.suspended") == []
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to is None


# -- reinstate ------------------------------------------------------------------------------------


def suspended(req, actor):
    return request_suspend(request_id=req.pk, actor=actor, reason="DMARC is p=none.")


def fresh_checks(req, *, status="pass"):
    queue_check_run(req, actor=None)
    finish_check_runs(req, status=status)


def test_reinstating_needs_checks_run_since_the_suspension(federated, feedback_user):
    suspended(federated, feedback_user)

    with pytest.raises(ActionRefused, match="checks made since it was suspended"):
        request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")
    fresh_checks(federated, status="fail")
    with pytest.raises(ActionRefused, match="The latest domain checks still fail"):
        request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")
    fresh_checks(federated, status="error")  # SERVFAIL, say: not a pass either
    with pytest.raises(ActionRefused, match="could not be made"):
        request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")
    assert reload(federated).state == State.SUSPENDED


def test_reinstating_puts_the_domains_back_as_a_new_entry(federated, feedback_user):
    suspended(federated, feedback_user)
    fresh_checks(federated)

    req = request_reinstate(request_id=federated.pk, actor=feedback_user, reason="DMARC fixed.")

    req = reload(req)
    assert req.state == State.FEDERATED and req.suspended_at is None
    assert trail_since(req, "request.reinstated") == [
        ("request.reinstated", State.SUSPENDED, State.FEDERATED, feedback_user)
    ]
    entries = list(AllowListEntry.objects.filter(domain=DOMAIN).order_by("pk"))
    assert [entry.effective_to for entry in entries] == [timezone.localdate(), None]
    assert [row.domain for row in allow_list_rows(on_date=timezone.localdate())] == [DOMAIN]
    assert len(emails_queued(req, "reinstated")) == 1


def test_reinstating_before_a_later_suspension_takes_effect_calls_it_off(federated, feedback_user):
    later = timezone.localdate() + timedelta(days=7)
    request_suspend(
        request_id=federated.pk, actor=feedback_user, reason="Notice.", effective_date=later
    )
    fresh_checks(federated)

    request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed in time.")

    entry = AllowListEntry.objects.get(domain=DOMAIN)
    assert entry.effective_to is None and entry.end_reason == ""


# -- revoke ---------------------------------------------------------------------------------------


def test_whoever_suspended_cannot_also_revoke(federated, feedback_user):
    suspended(federated, feedback_user)

    with pytest.raises(ActionRefused, match=r"someone else .* must revoke it \(four eyes\)"):
        request_revoke(request_id=federated.pk, actor=feedback_user, reason="Not fixed.")
    assert reload(federated).state == State.SUSPENDED


def test_a_colleague_revokes_and_the_domains_are_free_again(federated, feedback_user, colleague):
    suspended(federated, feedback_user)

    req = request_revoke(request_id=federated.pk, actor=colleague, reason="Not fixed in 30 days.")

    req = reload(req)
    assert req.state == State.REVOKED and req.closed_reason == "Not fixed in 30 days."
    assert trail_since(req, "request.revoked") == [
        ("request.revoked", State.SUSPENDED, State.REVOKED, colleague)
    ]
    assert not req.domains.filter(is_live=True).exists()
    assert AllowListEntry.objects.get(domain=DOMAIN).effective_to == timezone.localdate()
    assert len(emails_queued(req, "revoked")) == 1


def test_revoking_is_refused_from_federated_and_without_permission(
    federated, feedback_user, service_desk_user
):
    with pytest.raises(ActionRefused, match="so it cannot be revoked"):
        request_revoke(request_id=federated.pk, actor=feedback_user, reason="x")
    suspended(federated, feedback_user)
    with pytest.raises(ActionRefused, match="You do not have permission to revoke agreements"):
        request_revoke(request_id=federated.pk, actor=service_desk_user, reason="x")


# -- change sets ----------------------------------------------------------------------------------


def test_change_sets_remove_exactly_the_suspended_domains_and_add_them_back(
    federated, feedback_user
):
    other = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["other.example.org.uk"])
    request_federate(request_id=other.pk, actor=feedback_user)
    first = allow_list_change_set()
    assert (first.add, first.remove) == (sorted([DOMAIN, "other.example.org.uk"]), [])
    record_applied("teams-powershell", feedback_user)
    assert (allow_list_change_set().add, allow_list_change_set().remove) == ([], [])

    suspended(federated, feedback_user)

    after_suspension = allow_list_change_set()
    assert (after_suspension.add, after_suspension.remove) == ([], [DOMAIN])
    script = allow_list_change_set_export(fmt="teams-powershell", actor=feedback_user).text
    assert f'$remove.Add("{DOMAIN}")' in script
    assert script.rstrip().endswith("-AllowedDomainsAsAList @{Remove=$remove}")
    record_applied("teams-powershell", feedback_user)

    fresh_checks(federated)
    request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")

    after_reinstatement = allow_list_change_set()
    assert (after_reinstatement.add, after_reinstatement.remove) == ([DOMAIN], [])


def test_a_later_suspension_is_in_the_change_set_from_its_date(federated, feedback_user):
    record_applied("csv", feedback_user)
    later = timezone.localdate() + timedelta(days=3)
    request_suspend(
        request_id=federated.pk, actor=feedback_user, reason="Notice.", effective_date=later
    )

    assert allow_list_change_set().remove == []
    with time_machine.travel(timezone.now() + timedelta(days=3)):
        assert allow_list_change_set().remove == [DOMAIN]


def test_recording_a_change_set_needs_the_sha256_of_the_current_one(federated, feedback_user):
    stale = allow_list_change_set_export(fmt="csv", actor=feedback_user)
    suspended(federated, feedback_user)  # the list changes after the export

    with pytest.raises(ActionRefused, match="the allow list has changed since it was exported"):
        allow_list_change_set_applied(fmt="csv", sha256=stale.sha256, actor=feedback_user)
    assert not AllowListApplication.objects.exists()

    application = record_applied("csv", feedback_user)

    current = allow_list_change_set_export(fmt="csv", actor=feedback_user)
    assert application.export_sha256 != stale.sha256
    assert application.domains == [] and application.applied_by == feedback_user
    event = AuditEvent.objects.filter(action="allowlist.change_set_applied").get()
    assert event.actor == feedback_user and "Removed: none" in event.message
    assert current.warnings == ["Nothing has changed since the last change set applied."]


def test_recording_a_change_set_needs_permission(service_desk_user, feedback_user):
    export = allow_list_change_set_export(fmt="csv", actor=feedback_user)
    with pytest.raises(ActionRefused, match="You do not have permission"):
        allow_list_change_set_applied(fmt="csv", sha256=export.sha256, actor=service_desk_user)


def test_the_teams_change_script_adds_and_removes_in_one_call():
    text, warnings = render_change_set(
        add=["b.example.org.uk", "a.example.org.uk"],
        remove=["c.example.org.uk"],
        current=[],
        fmt="teams-powershell",
    )

    assert warnings == []
    assert text.splitlines()[2:] == [
        "$add = New-Object Collections.Generic.List[String]",
        '$add.Add("a.example.org.uk")',
        '$add.Add("b.example.org.uk")',
        "$remove = New-Object Collections.Generic.List[String]",
        '$remove.Add("c.example.org.uk")',
        "Set-CsTenantFederationConfiguration -AllowedDomainsAsAList @{Add=$add; Remove=$remove}",
    ]
    csv_text, _ = render_change_set(add=["a.example.org.uk"], remove=[], current=[], fmt="csv")
    assert csv_text == "domain,domain_unicode,change\r\na.example.org.uk,a.example.org.uk,add\r\n"


def test_the_organisation_is_told_why_by_email_and_on_its_status_page(
    federated, feedback_user, colleague, client, mailoutbox
):
    suspended(federated, feedback_user)
    [job] = emails_queued(federated, "suspended")
    send_request_email(**job)
    request_revoke(request_id=federated.pk, actor=colleague, reason="Not fixed in 30 days.")
    send_request_email(**emails_queued(federated, "revoked")[0])

    suspension, revocation = mailoutbox
    assert suspension.subject == f"Federation with NHSmail is suspended for {federated.reference}"
    assert "Why: DMARC is p=none." in suspension.body and DOMAIN in suspension.body
    assert "Not fixed in 30 days." in revocation.body
    page = client.get(reverse("requests_app:status", args=[federated.status_token]))
    assert "Why the agreement was revoked" in page.content.decode()


def test_revoking_closes_an_open_remediation_case_and_a_pending_ask_to_end(
    federated, feedback_user, colleague
):
    case = RemediationCase.objects.create(
        request=federated, due_date=timezone.localdate(), items=[{"check": "dmarc"}]
    )
    ask = OffboardingAsk.objects.create(
        request=federated,
        asked_by_email="sam@example.org.uk",
        reason="Moving to NHSmail.",
        notice_date=timezone.localdate() + timedelta(days=30),
    )
    suspended(federated, feedback_user)

    request_revoke(request_id=federated.pk, actor=colleague, reason="Not fixed.")

    case.refresh_from_db()
    ask.refresh_from_db()
    assert (
        case.closed_at is not None and case.close_reason == "The agreement was revoked: Not fixed."
    )
    assert (ask.decision, ask.decided_by) == (OffboardingDecision.DECLINED, colleague)
    assert [row[0] for row in audit_trail(federated)][-3:] == [
        "request.revoked",
        "remediation.closed",
        "request.offboarding_declined",
    ]
