"""Services for check runs: queue the domain checks of a request, record each domain's result.

A run is a group of tasks, one per domain, each queued through the outbox so that a broker
outage delays the checks instead of losing them. services.request_submit calls queue_check_run;
this module never imports services (one way only).
"""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from .audit import audit
from .checks.results import CheckResult, DomainReport, Status
from .errors import ActionRefused
from .models import CheckRun, CheckRunState, DomainCheck, FederationRequest
from .outbox import enqueue_after_commit
from .permissions import ensure_may

CHECK_TASK = "requests_app.tasks.run_domain_check"


def queue_check_run(req: FederationRequest, actor=None, *, actor_label: str = "") -> CheckRun:
    """Create a run and queue one task per domain; call inside the caller's transaction."""
    run = CheckRun.objects.create(request=req)
    names = list(req.domains.order_by("name").values_list("name", flat=True))
    for name in names:
        enqueue_after_commit(CHECK_TASK, run_id=run.pk, domain=name)
    audit(
        req,
        actor,
        "checks.requested",
        message=f"Domain checks queued for: {', '.join(names)}.",
        actor_label=actor_label,
    )
    return run


def check_run_start(*, request_id: int, actor=None) -> CheckRun:
    """Run the domain checks of a request again (staff with the review permission)."""
    if actor is not None:
        ensure_may(actor, "run_checks")
    with transaction.atomic():
        try:
            req = FederationRequest.objects.select_for_update().get(pk=request_id)
        except FederationRequest.DoesNotExist:
            raise ActionRefused("That request does not exist.") from None
        return queue_check_run(req, actor)


def check_run_record(*, run_id: int, domain: str, report_dict: dict) -> DomainCheck:
    """Save one domain's report (once: a repeated task keeps the first) and complete the run
    when every domain of its request has a result."""
    with transaction.atomic():
        # The run's lock serialises the domains' tasks: one sees the last result come in.
        run = CheckRun.objects.select_for_update().select_related("request").get(pk=run_id)
        check, created = DomainCheck.objects.get_or_create(
            run=run,
            domain=domain,
            defaults={
                "checked_at": datetime.fromisoformat(report_dict["checked_at"]),
                "verdict": report_dict["verdict"],
                "results": report_dict["checks"],
            },
        )
        if created and run.state == CheckRunState.PENDING:
            wanted = set(run.request.domains.values_list("name", flat=True))
            verdicts = dict(run.domains_checked.values_list("domain", "verdict"))
            if wanted <= verdicts.keys():
                run.state = CheckRunState.COMPLETE
                run.completed_at = timezone.now()
                run.save(update_fields=["state", "completed_at"])
                audit(
                    run.request,
                    None,
                    "checks.completed",
                    message="; ".join(f"{name}: {verdicts[name]}" for name in sorted(verdicts)),
                )
    return check


def _error_report(domain: str, result: CheckResult) -> dict:
    """A report holding one error result: the run goes on, the reason is kept for people."""
    return DomainReport(domain, timezone.now(), Status.ERROR, [result]).as_dict()


def timed_out_report(domain: str, seconds: int) -> dict:
    """A report saying the checks of domain ran out of time: stored as an error, not a crash."""
    return _error_report(
        domain,
        CheckResult(
            "timeout",
            Status.ERROR,
            f"The checks of {domain} did not finish within {seconds} seconds, "
            "so they could not be completed.",
            details={"time_limit_seconds": seconds},
            fix="Run the checks again. If they time out again, make sure the domain's "
            "name servers and mail servers answer promptly.",
        ),
    )


def unreachable_report(domain: str, reason: str) -> dict:
    """A report for a run that could not ask DNS at all (a misconfigured resolver)."""
    return _error_report(
        domain,
        CheckResult(
            "resolver",
            Status.ERROR,
            "The domain could not be checked: the portal's DNS resolver is not set up correctly.",
            details={"reason": reason},
            fix="The NHSmail Feedback team will run the checks again once this is fixed.",
        ),
    )
