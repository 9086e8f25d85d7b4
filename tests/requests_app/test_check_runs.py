"""Check runs: queued on submission, a task per domain, shown in the admin and status page."""

import pytest
from celery.exceptions import SoftTimeLimitExceeded
from django.urls import reverse
from django.utils import timezone

from requests_app import tasks
from requests_app.check_runs import CHECK_TASK, check_run_record, check_run_start
from requests_app.errors import ActionRefused
from requests_app.models import AuditEvent, CheckRun, CheckRunState, DomainCheck, OutboxMessage
from tests.conftest import wait_for
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
    from django.test import Client

    req = submit_lakeside_care()
    client = Client(enforce_csrf_checks=True)
    client.force_login(feedback_user)

    response = client.post(
        reverse("admin:requests_app_federationrequest_run_checks", args=[req.pk])
    )
    assert response.status_code == 403
    assert req.check_runs.count() == 1


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
