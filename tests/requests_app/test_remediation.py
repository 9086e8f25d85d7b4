"""Drift becomes a case (issue 12): a check that got worse on a federated domain opens a
remediation case with a due date, a further worsening adds to it, a later passing check closes
it, staff may close it with a reason; each audited and emailed; overdue cases listed for staff."""

from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from federation_portal.celery import app
from portal_kit.errors import ActionRefused
from requests_app import emails, tasks
from requests_app.checks.names import CHECK_NAMES
from requests_app.checks.rules import CHECK_IDS
from requests_app.models import (
    AuditEvent,
    CheckRunPurpose,
    ContactRole,
    OutboxMessage,
    RemediationCase,
    SentEmail,
    State,
)
from requests_app.selectors import overdue_remediation_cases
from requests_app.services.check_runs import (
    check_run_record,
    recheck_federated,
    timed_out_report,
)
from requests_app.services.remediation import (
    EMAIL_TASK,
    OVERDUE_EMAIL_TASK,
    remediation_close,
    remediation_list_overdue,
)
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory, complete_check_run
from tests.portal.test_task_list import tasks as task_list_shown

pytestmark = pytest.mark.django_db

DOMAIN = "wharf.example.org.uk"


def report(domain: str, statuses: dict[str, str]) -> dict:
    """A DomainReport.as_dict() by hand: each check's summary and fix name its status."""
    verdict = "fail" if "fail" in statuses.values() else "pass"
    return {
        "domain": domain,
        "checked_at": timezone.now().isoformat(),
        "verdict": verdict,
        "checks": [
            {
                "id": check,
                "status": status,
                "summary": f"{check} is {status}",
                "details": {},
                "fix": f"Publish a stricter {check} record." if status != "pass" else "",
            }
            for check, status in statuses.items()
        ],
    }


@pytest.fixture
def federated():
    """A federated request whose domain passed every check last week."""
    req = FederationRequestFactory(state=State.FEDERATED, domains=[DOMAIN], checked=False)
    week_ago = timezone.now() - timedelta(days=7)
    complete_check_run(
        req, statuses={"dmarc": "pass", "spf": "pass"}, requested_at=week_ago, completed_at=week_ago
    )
    return req


def weekly_recheck(req, **statuses):
    """The weekly re-check of req, its domain's report recorded as the worker would."""
    # Each week's run is a week after the one before: the beat skips a request checked within
    # a day.
    req.check_runs.update(requested_at=timezone.now() - timedelta(days=7))
    recheck_federated()
    run = req.check_runs.filter(purpose=CheckRunPurpose.RECHECK).order_by("-pk").first()
    check_run_record(run_id=run.pk, domain=DOMAIN, report_dict=report(DOMAIN, statuses))
    run.refresh_from_db()
    return run


def remediation_emails(req) -> list[dict]:
    jobs = OutboxMessage.objects.filter(task_name=EMAIL_TASK, kwargs__request_id=req.pk)
    return [job.kwargs for job in jobs.order_by("pk")]


def events(req, prefix="remediation.") -> list[tuple[str, str, str]]:
    rows = AuditEvent.objects.filter(request=req, action__startswith=prefix).order_by("pk")
    return [(event.action, event.actor_label, event.message) for event in rows]


# -- opening, adding, closing --------------------------------------------------------------------


def test_a_weaker_dmarc_opens_a_case_due_in_remediation_days_audited_and_emailed(
    federated, settings
):
    settings.REMEDIATION_DAYS = 21
    run = weekly_recheck(federated, dmarc="fail", spf="pass")

    case = RemediationCase.objects.get(request=federated)
    assert case.is_open and case.opened_by_run == run
    assert case.due_date == timezone.localdate() + timedelta(days=21)
    assert [
        (i["domain"], i["check"], i["before"], i["status"], i["fix"], i["fixed"])
        for i in case.items
    ] == [(DOMAIN, "dmarc", "pass", "fail", "Publish a stricter dmarc record.", False)]
    assert events(federated) == [
        (
            "remediation.opened",
            "system",
            f"To fix by {case.due_date:%d %B %Y}:\n{DOMAIN}: DMARC pass -> fail: dmarc is fail",
        )
    ]
    assert remediation_emails(federated) == [
        {
            "request_id": federated.pk,
            "case_id": case.pk,
            "kind": "remediation_opened",
            "key": "opened",
        }
    ]


def test_a_check_that_could_not_be_made_opens_a_case_too(federated):
    """error is not a pass (issue 11): pass -> could not be checked is a worsening."""
    weekly_recheck(federated, dmarc="error", spf="pass")

    case = RemediationCase.objects.get(request=federated)
    assert [(i["check"], i["before"], i["status"]) for i in case.items] == [
        ("dmarc", "pass", "error")
    ]


def test_nothing_worse_opens_no_case(federated):
    weekly_recheck(federated, dmarc="pass", spf="pass")
    assert not RemediationCase.objects.exists()
    assert events(federated) == []


def test_a_check_that_failed_when_federated_opens_no_case_each_week():
    """The team federated it with that failure (a reason is recorded at review): only a change
    for the worse is news."""
    req = FederationRequestFactory(state=State.FEDERATED, domains=[DOMAIN], checked=False)
    complete_check_run(req, statuses={"dmarc": "pass", "spf": "fail"})
    weekly_recheck(req, dmarc="pass", spf="fail")
    assert not RemediationCase.objects.exists()


def test_a_request_not_federated_gets_no_case():
    req = FederationRequestFactory(state=State.SUBMITTED, domains=[DOMAIN], checked=False)
    complete_check_run(req, statuses={"dmarc": "pass"})
    run = req.check_runs.create()
    check_run_record(run_id=run.pk, domain=DOMAIN, report_dict=report(DOMAIN, {"dmarc": "fail"}))
    assert not RemediationCase.objects.exists()


def test_a_further_worsening_adds_to_the_open_case(federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    due = case.due_date

    run = weekly_recheck(federated, dmarc="fail", spf="fail")

    assert RemediationCase.objects.count() == 1
    case.refresh_from_db()
    assert case.due_date == due  # one case, one date
    assert [(i["check"], i["status"], i["fixed"]) for i in case.items] == [
        ("dmarc", "fail", False),
        ("spf", "fail", False),
    ]
    assert [action for action, *_ in events(federated)] == [
        "remediation.opened",
        "remediation.extended",
    ]
    assert events(federated)[1][2] == (
        f"Added to the case due {due:%d %B %Y}:\n{DOMAIN}: SPF pass -> fail: spf is fail"
    )
    assert [job["kind"] for job in remediation_emails(federated)] == [
        "remediation_opened",
        "remediation_extended",
    ]
    assert remediation_emails(federated)[1]["key"] == f"extended:{run.pk}"


def test_the_same_check_getting_worse_again_updates_it_without_another_email(federated):
    weekly_recheck(federated, dmarc="warn", spf="pass")
    weekly_recheck(federated, dmarc="fail", spf="pass")

    (item,) = RemediationCase.objects.get().items
    assert (item["before"], item["status"], item["summary"]) == ("pass", "fail", "dmarc is fail")
    assert len(remediation_emails(federated)) == 1


def test_one_open_case_per_request_is_kept_by_the_database(federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    with pytest.raises(IntegrityError), transaction.atomic():
        RemediationCase.objects.create(request=federated, due_date=timezone.localdate())


def test_a_later_passing_check_closes_the_case_itself_audited_and_emailed(federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    run = weekly_recheck(federated, dmarc="pass", spf="pass")

    case = RemediationCase.objects.get()
    assert not case.is_open
    assert (case.how_closed, case.closed_by_run, case.closed_by) == ("fixed", run, None)
    assert case.items[0]["fixed"] is True
    action, actor, message = events(federated)[-1]
    assert (action, actor) == ("remediation.closed", "system")
    assert message.startswith("Fixed: the checks of ")
    assert remediation_emails(federated)[-1] == {
        "request_id": federated.pk,
        "case_id": case.pk,
        "kind": "remediation_closed",
        "key": "closed",
    }
    # The next worsening is a new case.
    weekly_recheck(federated, dmarc="fail", spf="pass")
    assert RemediationCase.objects.open().count() == 1
    assert RemediationCase.objects.count() == 2


def test_a_partial_fix_leaves_the_case_open_with_that_item_fixed(federated):
    weekly_recheck(federated, dmarc="fail", spf="fail")
    weekly_recheck(federated, dmarc="pass", spf="fail")

    case = RemediationCase.objects.get()
    assert case.is_open
    assert {i["check"]: i["fixed"] for i in case.items} == {"dmarc": True, "spf": False}


@pytest.mark.parametrize("later", ["error", "timeout"])
def test_a_check_that_could_not_be_made_later_does_not_close_the_case(federated, later):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    federated.check_runs.update(requested_at=timezone.now() - timedelta(days=7))
    recheck_federated()
    run = federated.check_runs.order_by("-pk").first()
    if later == "timeout":  # the whole domain ran out of time: no check id in the report
        check_run_record(run_id=run.pk, domain=DOMAIN, report_dict=timed_out_report(DOMAIN, 60))
    else:
        check_run_record(
            run_id=run.pk, domain=DOMAIN, report_dict=report(DOMAIN, {"dmarc": "error"})
        )

    assert RemediationCase.objects.get().is_open


def test_a_suspended_request_s_case_still_closes_when_fixed(federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    federated.__class__.objects.filter(pk=federated.pk).update(state=State.SUSPENDED)
    federated.check_runs.update(requested_at=timezone.now() - timedelta(days=7))
    run = federated.check_runs.create(purpose=CheckRunPurpose.RERUN)
    check_run_record(
        run_id=run.pk, domain=DOMAIN, report_dict=report(DOMAIN, {"dmarc": "pass", "spf": "pass"})
    )
    assert not RemediationCase.objects.get().is_open


# -- staff close ---------------------------------------------------------------------------------


def test_staff_close_a_case_with_a_reason_audited_and_emailed(federated, feedback_user):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()

    remediation_close(case_id=case.pk, actor=feedback_user, reason="  Agreed p=none for a month. ")

    case.refresh_from_db()
    assert (case.how_closed, case.closed_by, case.close_reason) == (
        "staff",
        feedback_user,
        "Agreed p=none for a month.",
    )
    assert events(federated)[-1] == (
        "remediation.closed",
        "fiona.feedback",
        "Closed by staff: Agreed p=none for a month.",
    )
    assert remediation_emails(federated)[-1]["kind"] == "remediation_closed"
    with pytest.raises(ActionRefused, match="already closed"):
        remediation_close(case_id=case.pk, actor=feedback_user, reason="Again.")


def test_closing_needs_permission_and_a_reason(federated, feedback_user, service_desk_user):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()

    with pytest.raises(ActionRefused, match="permission to close remediation cases"):
        remediation_close(case_id=case.pk, actor=service_desk_user, reason="No.")
    with pytest.raises(ActionRefused, match="Give the reason"):
        remediation_close(case_id=case.pk, actor=feedback_user, reason="   ")
    assert RemediationCase.objects.get().is_open
    assert [action for action, *_ in events(federated)] == ["remediation.opened"]


# -- overdue -------------------------------------------------------------------------------------


def test_overdue_is_judged_today_and_lists_only_cases_awaiting_a_decision(federated, settings):
    settings.REMEDIATION_DAYS = 30
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    suspended = FederationRequestFactory(state=State.SUSPENDED)
    RemediationCase.objects.create(request=suspended, due_date=case.due_date)
    due = case.due_date

    assert list(overdue_remediation_cases(today=due)) == []  # the due date is still in time
    assert list(overdue_remediation_cases(today=due + timedelta(days=1))) == [case]
    assert case.is_overdue(due + timedelta(days=1)) and not case.is_overdue(due)


def test_the_daily_beat_lists_overdue_cases_for_the_team_and_changes_nothing(
    federated, settings, mailoutbox
):
    settings.FEEDBACK_TEAM_EMAIL = "feedback-team@nhs.example"
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    before = AuditEvent.objects.count()

    assert remediation_list_overdue(today=case.due_date) == 0
    assert not OutboxMessage.objects.filter(task_name=OVERDUE_EMAIL_TASK).exists()

    late = case.due_date + timedelta(days=3)
    assert remediation_list_overdue(today=late) == 1
    (job,) = OutboxMessage.objects.filter(task_name=OVERDUE_EMAIL_TASK)
    assert job.kwargs == {"on_date": late.isoformat()}
    assert tasks.send_overdue_remediation_email(late.isoformat()) is True
    assert tasks.send_overdue_remediation_email(late.isoformat()) is False  # once a day

    (message,) = mailoutbox
    assert message.to == ["feedback-team@nhs.example"]
    assert message.subject == f"1 remediation case past due ({late:%d %B %Y})"
    body = message.body
    assert f"({federated.reference}): due {case.due_date:%-d %B %Y}, 3 days overdue" in body
    assert f"- {DOMAIN}: DMARC was pass, is now fail" in body
    assert "Nothing has been\nsuspended" in body
    # No automatic state change: the request stays federated, nothing audited.
    federated.refresh_from_db()
    assert federated.state == State.FEDERATED
    assert AuditEvent.objects.count() == before
    assert RemediationCase.objects.get().is_open


def test_the_overdue_list_and_the_weekly_recheck_are_on_the_beat_schedule():
    entry = django_settings.CELERY_BEAT_SCHEDULE["list-overdue-remediation-cases"]
    assert entry["task"] in app.tasks
    assert entry["schedule"].hour == {7}  # daily


# -- the organisation's emails -------------------------------------------------------------------


def test_the_organisation_is_emailed_what_to_fix_and_by_when_then_that_it_is_fixed(
    federated, mailoutbox
):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    spoc = federated.contacts.get(role=ContactRole.SPOC).email

    assert emails.send_remediation_email(
        request_id=federated.pk, case_id=case.pk, kind="remediation_opened", key="opened"
    )
    assert not emails.send_remediation_email(
        request_id=federated.pk, case_id=case.pk, kind="remediation_opened", key="opened"
    )
    weekly_recheck(federated, dmarc="pass", spf="pass")
    assert emails.send_remediation_email(
        request_id=federated.pk, case_id=case.pk, kind="remediation_closed", key="closed"
    )

    opened, closed = mailoutbox
    assert set(opened.to) == {federated.requester_email, spoc}
    due = f"{case.due_date.day} {case.due_date:%B %Y}"
    assert opened.subject == (
        f"Action needed by {case.due_date:%d %B %Y}: your domains' checks got worse "
        f"({federated.reference})"
    )
    assert f"fix it by {due}:" in opened.body
    assert f"- {DOMAIN}: DMARC\n  What we found: dmarc is fail\n" in opened.body
    assert "How to fix it: Publish a stricter dmarc record." in opened.body
    assert set(closed.to) == {federated.requester_email, spoc}
    assert (
        closed.subject
        == f"Fixed: nothing more to do on your domains' checks ({federated.reference})"
    )
    assert "found everything that had got worse fixed" in closed.body
    assert SentEmail.objects.filter(request=federated).count() == 2


def test_a_case_closed_by_staff_tells_the_organisation_why(federated, feedback_user, mailoutbox):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    remediation_close(case_id=case.pk, actor=feedback_user, reason="Agreed with your SPOC.")

    assert tasks.send_remediation_email(federated.pk, case.pk, "remediation_closed", "closed")

    (message,) = mailoutbox
    assert message.subject.startswith("Closed: the case about your domains' checks")
    assert "Why: Agreed with your SPOC." in message.body


# -- what the organisation and staff see ---------------------------------------------------------


def test_the_task_list_shows_the_fix_with_its_due_date_then_overdue(client, federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    sign_in(client, federated.contacts.get(role=ContactRole.SPOC).email)
    page_url = reverse("portal:request", args=[federated.reference])
    name = f"Fix: DMARC on {DOMAIN}"

    assert task_list_shown(client, federated)[name] == ("To do", f"{page_url}#remediation")
    page = client.get(page_url).content.decode()
    assert f"Due by {case.due_date.day} {case.due_date:%B %Y}. dmarc is fail" in page
    assert "How to fix it: Publish a stricter dmarc record." in page
    assert 'id="remediation"' in page

    # A month on, as the due date passes (moved here rather than the clock: the session
    # would have expired).
    RemediationCase.objects.update(due_date=timezone.localdate() - timedelta(days=1))
    assert task_list_shown(client, federated)[name] == ("Overdue", f"{page_url}#remediation")
    assert "That date has passed" in client.get(page_url).content.decode()

    weekly_recheck(federated, dmarc="pass", spf="pass")
    assert name not in task_list_shown(client, federated)
    assert 'id="remediation"' not in client.get(page_url).content.decode()


def test_a_suspended_request_s_task_list_keeps_the_fixes(client, federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    federated.__class__.objects.filter(pk=federated.pk).update(state=State.SUSPENDED)
    sign_in(client, federated.contacts.get(role=ContactRole.SPOC).email)

    assert list(task_list_shown(client, federated)) == [f"Fix: DMARC on {DOMAIN}"]


def test_once_the_agreement_has_ended_an_open_case_is_no_longer_shown(client, federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    federated.__class__.objects.filter(pk=federated.pk).update(state=State.REVOKED)
    sign_in(client, federated.contacts.get(role=ContactRole.SPOC).email)

    assert task_list_shown(client, federated) == {}
    status = client.get(reverse("requests_app:status", args=[federated.status_token]))
    assert 'id="remediation"' not in status.content.decode()
    assert list(overdue_remediation_cases(today=timezone.localdate() + timedelta(days=99))) == []


def test_the_status_page_shows_the_open_case(client, federated):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()

    page = client.get(reverse("requests_app:status", args=[federated.status_token]))

    html = page.content.decode()
    assert f"To fix by {case.due_date.day} {case.due_date:%B %Y}" in html
    assert "<strong>How to fix it:</strong> Publish a stricter dmarc record." in html


def test_the_workbench_shows_the_case_and_staff_close_it_there(client, federated, feedback_user):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    client.force_login(feedback_user)
    change = reverse("admin:requests_app_federationrequest_change", args=[federated.pk])

    RemediationCase.objects.update(due_date=timezone.localdate() - timedelta(days=2))
    page = client.get(change).content.decode()
    module = page[page.index('id="remediation"') :]
    assert "overdue" in module and "decide whether to suspend the request" in module
    assert "Publish a stricter dmarc record." in module
    close_url = reverse(
        "admin:requests_app_federationrequest_remediation_close", args=[federated.pk, case.pk]
    )
    assert close_url in module

    refused = client.post(close_url, {"reason": ""})
    assert refused.status_code == 200 and RemediationCase.objects.get().is_open
    done = client.post(close_url, {"reason": "Agreed with the SPOC."}, follow=True)
    assert "is closed; the organisation is emailed the reason" in done.content.decode()
    assert RemediationCase.objects.get().how_closed == "staff"


def test_the_service_desk_may_not_close_a_case(client, federated, service_desk_user):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    case = RemediationCase.objects.get()
    client.force_login(service_desk_user)
    url = reverse(
        "admin:requests_app_federationrequest_remediation_close", args=[federated.pk, case.pk]
    )
    client.post(url, {"reason": "Mine now."})
    assert RemediationCase.objects.get().is_open


def test_the_cases_list_filters_overdue_for_staff(client, federated, feedback_user):
    weekly_recheck(federated, dmarc="fail", spf="pass")
    RemediationCase.objects.update(due_date=timezone.localdate() - timedelta(days=1))
    in_time = FederationRequestFactory(state=State.FEDERATED)
    RemediationCase.objects.create(request=in_time, due_date=timezone.localdate())
    decided = FederationRequestFactory(state=State.SUSPENDED)  # the team suspended it already
    RemediationCase.objects.create(
        request=decided, due_date=timezone.localdate() - timedelta(days=9)
    )
    client.force_login(feedback_user)
    url = reverse("admin:requests_app_remediationcase_changelist")

    overdue = client.get(url, {"overdue": "yes"}).content.decode()
    every = client.get(url).content.decode()

    assert federated.reference in overdue
    assert in_time.reference not in overdue and decided.reference not in overdue
    assert all(req.reference in every for req in (federated, in_time, decided))
    assert f"{DOMAIN}: DMARC (fail)" in overdue


def test_every_check_has_a_name_for_people():
    assert set(CHECK_IDS) <= set(CHECK_NAMES)
