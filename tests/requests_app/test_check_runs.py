"""Check runs: queued on submission, a task per domain, shown in the admin and status page."""

from datetime import timedelta

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.urls import reverse
from django.utils import timezone

from federation_portal.celery import app
from portal_kit.errors import ActionRefused
from requests_app import tasks
from requests_app.models import (
    AuditEvent,
    CheckRun,
    CheckRunPurpose,
    CheckRunState,
    DomainCheck,
    OutboxMessage,
    State,
)
from requests_app.services.check_runs import (
    CHECK_TASK,
    WORSENED_EMAIL_TASK,
    check_run_record,
    check_run_start,
    recheck_federated,
)
from requests_app.services.lifecycle import request_review
from tests.conftest import StaffClient, sent_mail, wait_for
from tests.factories import FederationRequestFactory, complete_check_run
from tests.helpers import submit_lakeside_care

DOMAINS = ["lakeside-care.example.org.uk", "lakeside-gp.example.org.uk"]


def report(domain: str, verdict: str, checks: list[tuple[str, str]]) -> dict:
    """A DomainReport.as_dict() built by hand: (id, status) for each check."""
    return {
        "domain": domain,
        "checked_at": timezone.now().isoformat(),
        "verdict": verdict,
        "checks": [
            {
                "id": check_id,
                "status": status,
                "summary": f"{check_id} summary: {status}",
                "details": {"internal": f"{check_id}-machine-detail"},
                "fix": f"{check_id} fix: do this" if status != "pass" else "",
            }
            for check_id, status in checks
        ],
    }


MIXED = [
    ("teams_federation", "pass"),
    ("dnssec", "info"),
    ("starttls", "error"),
    ("dmarc", "warn"),
    ("spf", "fail"),
]


def record_all(run, verdict="fail", checks=MIXED):
    for name in run.request.domains.values_list("name", flat=True):
        check_run_record(run_id=run.pk, domain=name, report_dict=report(name, verdict, checks))


# -- services ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_submission_queues_a_run_with_one_outbox_row_per_domain():
    req = submit_lakeside_care(domains=DOMAINS)

    run = req.check_runs.get()
    assert run.state == CheckRunState.PENDING and run.completed_at is None
    jobs = OutboxMessage.objects.filter(task_name=CHECK_TASK).order_by("pk")
    assert [job.kwargs for job in jobs] == [{"run_id": run.pk, "domain": d} for d in DOMAINS]
    event = AuditEvent.objects.get(request=req, action="checks.requested")
    assert event.actor_label == "Lee Requester <lee@lakeside-care.example.org.uk>"
    assert DOMAINS[1] in event.message


@pytest.mark.django_db
def test_recording_a_domain_twice_keeps_one_result_and_the_run_waits_for_every_domain():
    req = submit_lakeside_care(domains=DOMAINS)
    run = req.check_runs.get()

    first = report(DOMAINS[0], "fail", [("spf", "fail")])
    check_run_record(run_id=run.pk, domain=DOMAINS[0], report_dict=first)
    check_run_record(
        run_id=run.pk, domain=DOMAINS[0], report_dict=report(DOMAINS[0], "pass", [("spf", "pass")])
    )

    check = DomainCheck.objects.get(run=run)
    assert check.verdict == "fail"
    assert check.results == first["checks"]
    run.refresh_from_db()
    assert run.state == CheckRunState.PENDING
    assert not AuditEvent.objects.filter(action="checks.completed").exists()


@pytest.mark.django_db
def test_the_run_completes_when_every_domain_has_a_result():
    req = submit_lakeside_care(domains=DOMAINS)
    run = req.check_runs.get()

    record_all(run)
    record_all(run)  # a redelivered task changes nothing

    run.refresh_from_db()
    assert run.state == CheckRunState.COMPLETE and run.completed_at is not None
    assert run.domains_checked.count() == 2
    completed = AuditEvent.objects.get(request=req, action="checks.completed")
    assert completed.actor_label == "system"
    assert f"{DOMAINS[0]}: fail" in completed.message


@pytest.mark.django_db
def test_the_feedback_team_runs_the_checks_again_and_it_is_audited(feedback_user):
    req = submit_lakeside_care(domains=DOMAINS)
    OutboxMessage.objects.all().delete()

    run = check_run_start(request_id=req.pk, actor=feedback_user)

    assert req.check_runs.count() == 2
    assert list(OutboxMessage.objects.values_list("task_name", "kwargs")) == [
        (CHECK_TASK, {"run_id": run.pk, "domain": d}) for d in DOMAINS
    ]
    event = AuditEvent.objects.filter(request=req, action="checks.requested").last()
    assert event.actor == feedback_user


@pytest.mark.django_db
def test_the_service_desk_may_not_run_the_checks(service_desk_user):
    req = submit_lakeside_care()
    with pytest.raises(ActionRefused, match="permission to run the domain checks"):
        check_run_start(request_id=req.pk, actor=service_desk_user)
    assert req.check_runs.count() == 1


# -- the weekly re-check of federated domains ----------------------------------------------------


@pytest.mark.django_db
def test_the_weekly_recheck_queues_a_run_for_each_federated_request_once():
    federated = FederationRequestFactory(state=State.FEDERATED, checked=False)
    checked_yesterday = FederationRequestFactory(state=State.FEDERATED, checked=False)
    complete_check_run(checked_yesterday, requested_at=timezone.now() - timedelta(hours=25))
    checked_today = FederationRequestFactory(state=State.FEDERATED)
    for state in (State.SUBMITTED, State.SIGNED, State.WITHDRAWN, State.REJECTED):
        FederationRequestFactory(state=state, checked=False)

    assert recheck_federated() == 2
    assert recheck_federated() == 0  # a second beat the same day queues nothing more

    runs = CheckRun.objects.filter(purpose=CheckRunPurpose.RECHECK)
    assert sorted(run.request_id for run in runs) == [federated.pk, checked_yesterday.pk]
    assert not checked_today.check_runs.filter(purpose=CheckRunPurpose.RECHECK).exists()
    assert OutboxMessage.objects.filter(task_name=CHECK_TASK).count() == 2
    event = AuditEvent.objects.get(request=federated, action="checks.requested")
    assert event.actor_label == "system"
    assert event.message.startswith("Weekly re-check: domain checks queued for")


def test_the_weekly_recheck_is_on_the_beat_schedule_and_names_a_real_task():
    entry = settings.CELERY_BEAT_SCHEDULE["recheck-federated-domains"]
    assert entry["task"] in app.tasks
    assert entry["schedule"].day_of_week == {1}  # Mondays


def checked_last_week(req, **statuses):
    week_ago = timezone.now() - timedelta(days=7)
    complete_check_run(req, statuses=statuses, requested_at=week_ago, completed_at=week_ago)


def record_report(run, domain, **statuses):
    verdict = "fail" if "fail" in statuses.values() else "pass"
    checks = list(statuses.items())
    check_run_record(run_id=run.pk, domain=domain, report_dict=report(domain, verdict, checks))


@pytest.mark.django_db
def test_a_weaker_dmarc_on_a_federated_domain_is_flagged_to_the_feedback_team():
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["wharf.example.org.uk"], checked=False
    )
    checked_last_week(req, dmarc="pass", spf="pass")
    recheck_federated()
    run = req.check_runs.get(purpose=CheckRunPurpose.RECHECK)

    record_report(run, "wharf.example.org.uk", dmarc="fail", spf="pass")

    run.refresh_from_db()
    assert run.state == CheckRunState.COMPLETE
    assert [(w["check"], w["before"], w["after"]) for w in run.worsened] == [
        ("dmarc", "pass", "fail")
    ]
    flagged = AuditEvent.objects.get(request=req, action="checks.worsened")
    assert flagged.message == "wharf.example.org.uk: dmarc pass -> fail: dmarc summary: fail"
    assert list(OutboxMessage.objects.filter(task_name=WORSENED_EMAIL_TASK).values("kwargs")) == [
        {"kwargs": {"request_id": req.pk, "run_id": run.pk}}
    ]


@pytest.mark.django_db
def test_an_unchanged_or_better_domain_is_not_flagged():
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["wharf.example.org.uk"], checked=False
    )
    checked_last_week(req, dmarc="warn", spf="pass")
    recheck_federated()

    record_report(req.check_runs.get(purpose="recheck"), "wharf.example.org.uk", dmarc="pass")

    assert req.check_runs.get(purpose="recheck").worsened == []
    assert not AuditEvent.objects.filter(action="checks.worsened").exists()
    assert not OutboxMessage.objects.filter(task_name=WORSENED_EMAIL_TASK).exists()


@pytest.mark.django_db
def test_a_request_still_in_progress_is_flagged_on_its_page_but_not_emailed(feedback_user):
    req = submit_lakeside_care()
    finish_check_runs_pass = report("lakeside-care.example.org.uk", "pass", [("spf", "pass")])
    check_run_record(
        run_id=req.check_runs.get().pk,
        domain="lakeside-care.example.org.uk",
        report_dict=finish_check_runs_pass,
    )
    run = check_run_start(request_id=req.pk, actor=feedback_user)

    record_report(run, "lakeside-care.example.org.uk", spf="fail")

    run.refresh_from_db()
    assert [(w["check"], w["after"]) for w in run.worsened] == [("spf", "fail")]
    assert AuditEvent.objects.filter(request=req, action="checks.worsened").exists()
    assert not OutboxMessage.objects.filter(task_name=WORSENED_EMAIL_TASK).exists()


@pytest.mark.django_db
def test_the_feedback_team_email_names_the_request_and_what_got_worse(settings, mailoutbox):
    settings.FEEDBACK_TEAM_EMAIL = "feedback-team@nhs.example"
    req = FederationRequestFactory(
        state=State.FEDERATED,
        domains=["xn--bcher-kva.example.org.uk"],
        checked=False,
        organisation__name="Wharfside Care",
    )
    checked_last_week(req, dmarc="pass")
    recheck_federated()
    run = req.check_runs.get(purpose="recheck")
    record_report(run, "xn--bcher-kva.example.org.uk", dmarc="fail")

    assert tasks.send_checks_worsened_email(req.pk, run.pk) is True
    assert tasks.send_checks_worsened_email(req.pk, run.pk) is False  # once only

    (message,) = mailoutbox
    assert message.to == ["feedback-team@nhs.example"]
    assert message.subject == f"Domain checks got worse for Wharfside Care ({req.reference})"
    body = message.body
    assert "- bücher.example.org.uk: dmarc was pass, is now fail." in body
    assert f"/admin/requests_app/federationrequest/{req.pk}/change/" in body


@pytest.mark.django_db
def test_a_time_out_in_between_does_not_hide_a_worsening():
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["wharf.example.org.uk"], checked=False
    )
    two_weeks_ago = timezone.now() - timedelta(days=14)
    complete_check_run(
        req, statuses={"dmarc": "pass"}, requested_at=two_weeks_ago, completed_at=two_weeks_ago
    )
    checked_last_week(req, dmarc="error")  # the resolver timed out that week
    recheck_federated()

    record_report(req.check_runs.get(purpose="recheck"), "wharf.example.org.uk", dmarc="fail")

    worsened = req.check_runs.get(purpose="recheck").worsened
    assert [(w["check"], w["before"], w["after"]) for w in worsened] == [("dmarc", "pass", "fail")]


@pytest.mark.django_db
def test_a_run_lost_for_good_stops_holding_the_review_back(feedback_user, settings):
    settings.CHECK_RUN_LOST_MINUTES = 60
    req = FederationRequestFactory()  # with a completed, passing run
    lost = CheckRun.objects.create(request=req)  # its tasks never came back
    CheckRun.objects.filter(pk=lost.pk).update(requested_at=timezone.now() - timedelta(hours=2))

    request_review(request_id=req.pk, actor=feedback_user, notes="Checked.")
    req.refresh_from_db()
    assert req.state == State.REVIEWED


# -- the task, in this process -------------------------------------------------------------------


@pytest.mark.django_db
def test_a_check_that_times_out_is_stored_as_an_error_result(monkeypatch):
    req = submit_lakeside_care()
    run = req.check_runs.get()

    def hang(domains, **options):
        raise SoftTimeLimitExceeded()

    monkeypatch.setattr(tasks.engine, "check_domains_sync", hang)
    assert tasks.run_domain_check(run.pk, DOMAINS[0]) == "error"

    check = DomainCheck.objects.get(run=run)
    assert check.verdict == "error"
    assert "did not finish within 60 seconds" in check.results[0]["summary"]
    assert check.results[0]["fix"].startswith("Run the checks again")
    run.refresh_from_db()
    assert run.state == CheckRunState.COMPLETE


@pytest.mark.django_db
def test_a_check_that_crashes_is_stored_as_an_error_and_the_run_completes(monkeypatch):
    req = submit_lakeside_care()
    run = req.check_runs.get()

    def broken(domains, **options):
        raise RuntimeError("a bug in a rule")

    monkeypatch.setattr(tasks.engine, "check_domains_sync", broken)
    assert tasks.run_domain_check(run.pk, DOMAINS[0]) == "error"

    result = DomainCheck.objects.get(run=run).results[0]
    assert result["id"] == "internal"
    assert result["details"] == {"reason": "RuntimeError: a bug in a rule"}
    run.refresh_from_db()
    assert run.state == CheckRunState.COMPLETE


@pytest.mark.django_db
def test_the_task_checks_a_domain_on_nsd_and_records_its_verdict(nameserver):
    req = submit_lakeside_care(domains=["dmarc-none.test"])
    run = req.check_runs.get()

    assert tasks.run_domain_check(run.pk, "dmarc-none.test") == "fail"

    check = DomainCheck.objects.get(run=run)
    dmarc = next(result for result in check.results if result["id"] == "dmarc")
    assert dmarc["status"] == "fail" and dmarc["fix"]


# -- what people see -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_admin_shows_results_worst_first_and_the_rerun_button_to_the_feedback_team(
    client, feedback_user
):
    req = submit_lakeside_care()
    record_all(req.check_runs.get())
    client.force_login(feedback_user)

    page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))

    html = page.content.decode()
    positions = [html.index(f"{check_id} summary") for check_id in ("spf", "dmarc", "starttls")]
    positions += [html.index(f"{check_id} summary") for check_id in ("dnssec", "teams_federation")]
    assert positions == sorted(positions)  # fail, warn, error, info, pass
    assert "spf fix: do this" in html
    assert 'id="run-checks"' in html
    run_url = reverse("admin:requests_app_federationrequest_run_checks", args=[req.pk])
    assert f'action="{run_url}"' in html

    response = client.post(run_url)
    assert response.status_code == 302
    assert req.check_runs.count() == 2
    page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))
    assert "still running" in page.content.decode()


@pytest.mark.django_db
def test_the_service_desk_sees_the_results_but_cannot_run_the_checks(client, service_desk_user):
    req = submit_lakeside_care()
    record_all(req.check_runs.get())
    client.force_login(service_desk_user)

    page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))
    assert "spf summary: fail" in page.content.decode()
    assert 'id="run-checks"' not in page.content.decode()

    run_url = reverse("admin:requests_app_federationrequest_run_checks", args=[req.pk])
    response = client.post(run_url, follow=True)
    assert "permission to run the domain checks" in response.content.decode()
    assert req.check_runs.count() == 1
    assert client.get(run_url).status_code == 405


@pytest.mark.django_db
def test_the_rerun_button_needs_a_csrf_token(feedback_user):
    req = submit_lakeside_care()
    client = StaffClient(enforce_csrf_checks=True)
    client.force_login(feedback_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_run_checks", args=[req.pk])
    )
    assert response.status_code == 403
    assert req.check_runs.count() == 1


@pytest.mark.django_db
def test_checks_that_could_not_be_made_are_shown_as_such_to_requester_and_staff(
    client, feedback_user
):
    # Issue 11: not "pass", not a bare "error": what it means for the domain.
    req = submit_lakeside_care()
    record_all(req.check_runs.get(), "error", [("mx", "error"), ("spf", "error")])

    status = client.get(reverse("requests_app:status", args=[req.status_token]))
    assert "Could not be checked" in status.content.decode()
    client.force_login(feedback_user)
    admin = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))
    assert f'{DOMAINS[0]}: <span class="check-verdict check-error">Could not be checked' in (
        admin.content.decode()
    )


@pytest.mark.django_db
def test_the_status_page_shows_the_latest_completed_run_with_how_to_fix_each(client):
    req = submit_lakeside_care()
    status_url = reverse("requests_app:status", args=[req.status_token])
    assert "Domain checks" not in client.get(status_url).content.decode()  # still running

    record_all(req.check_runs.get())
    check_run_start(request_id=req.pk)  # a newer run, still running, does not hide the last one

    html = client.get(status_url).content.decode()
    assert "Domain checks" in html
    assert "spf summary: fail" in html and "spf fix: do this" in html
    assert html.index("spf summary") < html.index("teams_federation summary")
    assert "machine-detail" not in html  # details are for the Feedback team, not the page


@pytest.mark.django_db
def test_the_admin_refuses_a_review_on_stale_checks_and_says_why(client, feedback_user):
    req = FederationRequestFactory(checked=False)
    checked_last_week(req, dmarc="pass")
    client.force_login(feedback_user)
    change_url = reverse("admin:requests_app_federationrequest_change", args=[req.pk])
    assert "A review needs checks completed in the last 72 hours." in (
        client.get(change_url).content.decode()
    )

    response = client.post(
        reverse("admin:requests_app_federationrequest_act", args=[req.pk, "review"]),
        {"decision": "accept", "notes": "Looks fine."},
        follow=True,
    )

    assert "more than 72 hours ago. Run the checks again" in response.content.decode()
    req.refresh_from_db()
    assert req.state == State.SUBMITTED


@pytest.mark.django_db
def test_the_change_page_and_the_runs_list_show_what_got_worse(client, feedback_user):
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["xn--bcher-kva.example.org.uk"], checked=False
    )
    checked_last_week(req, dmarc="pass")
    steady = FederationRequestFactory(state=State.FEDERATED, checked=False)
    checked_last_week(steady, dmarc="pass")
    recheck_federated()
    record_report(
        req.check_runs.get(purpose="recheck"), "xn--bcher-kva.example.org.uk", dmarc="fail"
    )
    steady_domain = steady.domains.get().name
    record_report(steady.check_runs.get(purpose="recheck"), steady_domain, dmarc="pass")
    client.force_login(feedback_user)

    page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))
    html = page.content.decode()
    assert "Latest run (weekly re-check)" in html
    flagged = html[html.index('id="checks-worsened"') :]
    assert "bücher.example.org.uk: dmarc was pass, is now fail." in flagged

    runs_url = reverse("admin:requests_app_checkrun_changelist")
    worse = client.get(runs_url, {"worsened": "yes"}).content.decode()
    assert req.reference in worse and steady.reference not in worse
    assert "dmarc pass → fail" in worse
    fine = client.get(runs_url, {"worsened": "no"}).content.decode()
    assert steady.reference in fine and "dmarc pass → fail" not in fine


@pytest.mark.django_db
def test_the_service_desk_cannot_open_the_runs_list(client, service_desk_user):
    client.force_login(service_desk_user)
    assert client.get(reverse("admin:requests_app_checkrun_changelist")).status_code == 403


# -- with a real worker and NSD ------------------------------------------------------------------


@pytest.fixture(scope="module")
def worker_extra_env(nsd_port):
    """The worker asks NSD for the test zones; its STARTTLS probe meets a closed port."""
    return {"DNS_NAMESERVERS": f"127.0.0.1:{nsd_port}", "SMTP_PROBE_PORT": "1"}


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_submitted_request_is_checked_by_the_worker_against_nsd(celery_worker_process):
    req = submit_lakeside_care(domains=["dmarc-none.test", "pass.test"])
    run = req.check_runs.get()

    def completed():
        run.refresh_from_db()
        return run.state == CheckRunState.COMPLETE

    wait_for(completed, timeout=60, what="the worker to check both domains")
    checks = {check.domain: check for check in DomainCheck.objects.filter(run=run)}
    assert checks["dmarc-none.test"].verdict == "fail"
    statuses = {result["id"]: result["status"] for result in checks["pass.test"].results}
    # pass.test passes every DNS check; its MX cannot be probed here, which is a warning.
    assert statuses["dmarc"] == statuses["spf"] == statuses["mx"] == "pass"
    assert statuses["starttls"] == "warn"
    assert checks["pass.test"].verdict == "warn"
    assert CheckRun.objects.count() == 1


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_the_weekly_recheck_in_the_worker_flags_dmarc_weakened_to_none(celery_worker_process):
    # Last week dmarc-none.test published p=reject; NSD now serves p=none. It has never had
    # an MX or SPF record: those fail both times, which is no news.
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["dmarc-none.test"], checked=False
    )
    checked_last_week(req, dmarc="pass", mx="fail", spf="fail")

    tasks.recheck_federated_domains.delay()

    # The organisation is emailed too (its remediation case): pick the team's message.
    message = wait_for(
        lambda: [
            m
            for m in sent_mail()
            if req.reference in m["Subject"] and m["Subject"].startswith("Domain checks got worse")
        ],
        timeout=60,
        what="the worker to re-check the domain and email the Feedback team",
    )[0]
    assert message["To"] == settings.FEEDBACK_TEAM_EMAIL
    assert "- dmarc-none.test: dmarc was pass, is now fail." in message.get_content()
    run = req.check_runs.get(purpose=CheckRunPurpose.RECHECK)
    assert run.state == CheckRunState.COMPLETE
    assert [item["check"] for item in run.worsened] == ["dmarc"]
