"""Removing one domain from a federated (or suspended) request: by its SPOC or by the Feedback
team, from a date, audited and emailed; the allow list's change set then removes exactly it."""

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.emails import send_domain_removed_email
from requests_app.models import (
    AllowListEntry,
    AuditEvent,
    CheckRunPurpose,
    ContactRole,
    OutboxMessage,
    RemediationCase,
    RequestedDomain,
    State,
)
from requests_app.selectors import allow_list_change_set, allow_list_rows
from requests_app.services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
)
from requests_app.services.check_runs import (
    check_run_record,
    queue_check_run,
    recheck_federated,
)
from requests_app.services.contacts import ContactDetails
from requests_app.services.domain_changes import (
    DOMAIN_REMOVED_EMAIL_TASK,
    domain_remove,
    domain_remove_by_contact,
)
from requests_app.services.lifecycle import request_federate, request_submit
from requests_app.services.suspension import request_reinstate, request_suspend
from tests.factories import FederationRequestFactory, complete_check_run, request_in
from tests.helpers import finish_check_runs, reload
from tests.requests_app.test_remediation import report

pytestmark = pytest.mark.django_db

KEPT = "harbourside.example.org.uk"
GOING = "old-brand.example.org.uk"


@pytest.fixture
def federated(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=[GOING, KEPT])
    request_federate(request_id=req.pk, actor=feedback_user)
    return reload(req)


def domain(req, name) -> RequestedDomain:
    return req.domains.get(name=name)


def spoc_email(req) -> str:
    return req.contacts.get(role=ContactRole.SPOC, removed_at__isnull=True).email


def removal_rows(req) -> list[tuple]:
    return list(
        AuditEvent.objects.filter(request=req, action="request.domain_removed")
        .order_by("pk")
        .values_list(
            "action", "from_state", "to_state", "actor__username", "actor_label", "message"
        )
    )


def record_applied(actor):
    export = allow_list_change_set_export(fmt="csv", actor=actor)
    return allow_list_change_set_applied(fmt="csv", sha256=export.sha256, actor=actor)


def test_the_spoc_removes_a_domain_from_a_date(federated):
    later = timezone.localdate() + timedelta(days=10)
    spoc = spoc_email(federated)

    removed = domain_remove_by_contact(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor_email=spoc.upper(),  # as typed at sign-in: the address is matched in any case
        effective_date=later,
        reason="That brand was retired.",
    )

    removed.refresh_from_db()
    assert (removed.is_live, removed.removed_from, removed.removal_reason) == (
        False,
        later,
        "That brand was retired.",
    )
    assert removed.removed_at is not None
    assert reload(federated).state == State.FEDERATED  # the agreement stands
    assert removal_rows(federated) == [
        (
            "request.domain_removed",
            "",
            "",
            None,
            spoc.lower(),
            f"{GOING} off the allow list from {later:%d %B %Y}. That brand was retired.",
        )
    ]
    entry = AllowListEntry.objects.get(domain=GOING)  # ended, not deleted
    assert (entry.effective_to, entry.ended_by, entry.end_reason) == (
        later,
        None,
        "Domain removed: That brand was retired.",
    )
    assert AllowListEntry.objects.get(domain=KEPT).effective_to is None
    # Listed until the day before, then only the domain kept.
    assert [r.domain for r in allow_list_rows(on_date=later - timedelta(days=1))] == [KEPT, GOING]
    assert [r.domain for r in allow_list_rows(on_date=later)] == [KEPT]
    assert list(
        OutboxMessage.objects.filter(task_name=DOMAIN_REMOVED_EMAIL_TASK).values_list(
            "kwargs", flat=True
        )
    ) == [{"request_id": federated.pk, "domain_id": removed.pk}]


def test_staff_remove_a_domain_and_the_change_set_removes_exactly_it(federated, feedback_user):
    record_applied(feedback_user)  # the tenant holds both domains
    assert allow_list_change_set().remove == []
    later = timezone.localdate() + timedelta(days=3)

    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=later,
        reason="Asked by phone, ticket 4411.",
    )

    assert removal_rows(federated) == [
        (
            "request.domain_removed",
            "",
            "",
            "fiona.feedback",
            "fiona.feedback",
            f"{GOING} off the allow list from {later:%d %B %Y}. Asked by phone, ticket 4411.",
        )
    ]
    assert AllowListEntry.objects.get(domain=GOING).ended_by == feedback_user
    assert allow_list_change_set().remove == []  # not yet: the tenant keeps it until then
    with time_machine.travel(later, tick=False):
        change_set = allow_list_change_set()
        assert (change_set.add, change_set.remove, change_set.current) == ([], [GOING], [KEPT])


def test_the_email_names_the_domain_its_date_and_the_domains_kept(federated, feedback_user):
    today = timezone.localdate()
    removed = domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=today,
        reason="Retired brand.",
    )

    assert send_domain_removed_email(request_id=federated.pk, domain_id=removed.pk)
    assert not send_domain_removed_email(request_id=federated.pk, domain_id=removed.pk)  # once

    [message] = mail.outbox
    assert message.subject == f"{GOING} leaves NHSmail's allow list ({federated.reference})"
    assert spoc_email(federated) in message.to and federated.requester_email in message.to
    assert f"From {today:%-d %B %Y} it is off NHSmail's allow list" in " ".join(
        message.body.split()
    )
    assert "Why: Retired brand." in message.body
    kept_part = message.body.split("other domains:")[1]
    assert f"- {KEPT}" in kept_part and GOING not in kept_part


def test_a_removed_domain_may_be_requested_again(federated, feedback_user):
    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Moving to another organisation.",
    )
    person = ContactDetails(name="Sam Spoc", job_title="IT lead", email="sam@new.example")
    new = request_submit(
        organisation_name="New Trust",
        ods_code="NEW01",
        has_nhsmail_presence=False,
        domains=[GOING],
        justification="The brand moved to us.",
        requester_name="Sam Spoc",
        requester_email="sam@new.example",
        spoc=person,
        technical_contact=person,
        confirmed_email=True,
    )
    assert list(new.domains.values_list("name", flat=True)) == [GOING]


def test_a_suspended_request_s_removed_domain_stays_off_when_reinstated(federated, feedback_user):
    request_suspend(request_id=federated.pk, actor=feedback_user, reason="DMARC is p=none.")
    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="No longer theirs.",
    )
    queue_check_run(reload(federated))
    finish_check_runs(federated)

    request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")

    assert [r.domain for r in allow_list_rows(on_date=timezone.localdate())] == [KEPT]


def test_reinstating_does_not_call_off_a_removal_dated_later(federated, feedback_user):
    later = timezone.localdate() + timedelta(days=20)
    request_suspend(
        request_id=federated.pk,
        actor=feedback_user,
        reason="DMARC is p=none.",
        effective_date=timezone.localdate() + timedelta(days=30),
    )
    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=later,
        reason="No longer theirs.",
    )
    queue_check_run(reload(federated))
    finish_check_runs(federated)

    request_reinstate(request_id=federated.pk, actor=feedback_user, reason="Fixed.")

    assert [r.domain for r in allow_list_rows(on_date=later)] == [KEPT]
    assert AllowListEntry.objects.get(domain=KEPT).effective_to is None


def test_checks_run_on_the_domains_kept_only(federated, feedback_user):
    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Retired brand.",
    )

    run = queue_check_run(reload(federated))

    queued = OutboxMessage.objects.filter(kwargs__run_id=run.pk)
    assert [row.kwargs["domain"] for row in queued] == [KEPT]


# -- refused ---------------------------------------------------------------------------------------


def test_a_technical_contact_is_refused(federated):
    technical = federated.contacts.get(role=ContactRole.TECHNICAL).email
    with pytest.raises(ActionRefused, match="Only the request's SPOC can remove a domain"):
        domain_remove_by_contact(
            request_id=federated.pk,
            domain_id=domain(federated, GOING).pk,
            actor_email=technical,
            effective_date=timezone.localdate(),
            reason="x",
        )
    assert removal_rows(federated) == []
    assert domain(federated, GOING).is_live


def test_someone_who_is_not_a_contact_is_told_the_request_does_not_exist(federated):
    with pytest.raises(ActionRefused, match="That request does not exist"):
        domain_remove_by_contact(
            request_id=federated.pk,
            domain_id=domain(federated, GOING).pk,
            actor_email="stranger@elsewhere.example",
            effective_date=timezone.localdate(),
            reason="x",
        )


@pytest.mark.parametrize("user", ["service_desk_user", "outsider_user"])
def test_staff_without_the_permission_are_refused(federated, user, request):
    with pytest.raises(ActionRefused, match="You do not have permission to remove a request's"):
        domain_remove(
            request_id=federated.pk,
            domain_id=domain(federated, GOING).pk,
            actor=request.getfixturevalue(user),
            effective_date=timezone.localdate(),
            reason="x",
        )
    assert removal_rows(federated) == []
    assert AllowListEntry.objects.get(domain=GOING).effective_to is None


@pytest.mark.parametrize("state", [State.SUBMITTED, State.SIGNED, State.REVOKED, State.OFFBOARDED])
def test_refused_unless_the_agreement_is_in_force(state, feedback_user):
    req = request_in(state, feedback_user, domains=[GOING, KEPT])
    with pytest.raises(ActionRefused, match="only while the agreement is in force"):
        domain_remove(
            request_id=req.pk,
            domain_id=domain(req, GOING).pk,
            actor=feedback_user,
            effective_date=timezone.localdate(),
            reason="x",
        )
    assert removal_rows(req) == []


def test_the_last_domain_is_offboarding_not_a_removal(federated, feedback_user):
    domain_remove(
        request_id=federated.pk,
        domain_id=domain(federated, GOING).pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="Retired brand.",
    )
    with pytest.raises(ActionRefused, match="last domain.*that is offboarding"):
        domain_remove(
            request_id=federated.pk,
            domain_id=domain(federated, KEPT).pk,
            actor=feedback_user,
            effective_date=timezone.localdate(),
            reason="x",
        )
    assert len(removal_rows(federated)) == 1
    assert AllowListEntry.objects.get(domain=KEPT).effective_to is None


def test_a_domain_removed_already_or_of_another_request_is_refused(federated, feedback_user):
    other = request_in(State.SUBMITTED, feedback_user, domains=["other.example.org.uk"])
    with pytest.raises(ActionRefused, match="not one of this request's"):
        domain_remove(
            request_id=federated.pk,
            domain_id=other.domains.get().pk,
            actor=feedback_user,
            effective_date=timezone.localdate(),
            reason="x",
        )


@pytest.mark.parametrize(
    ("days", "reason", "sentence"),
    [
        (-1, "x", "cannot leave the allow list in the past"),
        (0, "  ", "Say why the domain is being removed"),
    ],
)
def test_a_date_in_the_past_or_no_reason_is_refused(
    federated, feedback_user, days, reason, sentence
):
    with pytest.raises(ActionRefused, match=sentence):
        domain_remove(
            request_id=federated.pk,
            domain_id=domain(federated, GOING).pk,
            actor=feedback_user,
            effective_date=timezone.localdate() + timedelta(days=days),
            reason=reason,
        )


def test_a_remediation_case_about_a_removed_domain_closes_at_the_next_recheck(feedback_user):
    req = FederationRequestFactory(state=State.FEDERATED, domains=[GOING, KEPT], checked=False)
    week_ago = timezone.now() - timedelta(days=7)
    complete_check_run(
        req, statuses={"dmarc": "pass"}, requested_at=week_ago, completed_at=week_ago
    )

    def weekly(statuses_by_domain):
        req.check_runs.update(requested_at=timezone.now() - timedelta(days=7))
        recheck_federated()
        run = req.check_runs.filter(purpose=CheckRunPurpose.RECHECK).order_by("-pk").first()
        for name, status in statuses_by_domain.items():
            check_run_record(run_id=run.pk, domain=name, report_dict=report(name, status))

    weekly({GOING: {"dmarc": "fail"}, KEPT: {"dmarc": "pass"}})
    case = RemediationCase.objects.get(request=req)
    assert case.closed_at is None
    assert [item["domain"] for item in case.items] == [GOING]

    domain_remove(
        request_id=req.pk,
        domain_id=domain(req, GOING).pk,
        actor=feedback_user,
        effective_date=timezone.localdate(),
        reason="The failing brand is retired.",
    )
    # The next week's run checks the domain kept only, and nothing is left to fix.
    weekly({KEPT: {"dmarc": "pass"}})

    case.refresh_from_db()
    assert case.closed_at is not None
