"""Services for check runs: queue the domain checks of a request, record each domain's result.

A run is a group of tasks, one per domain, each queued through the outbox so that a broker
outage delays the checks instead of losing them. lifecycle.request_submit calls queue_check_run.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may

from ..audit import audit
from ..checks.compare import worsened_checks
from ..checks.results import CheckResult, DomainReport, Status
from ..domains import domain_unicode
from ..models import (
    CheckRun,
    CheckRunPurpose,
    CheckRunState,
    DomainCheck,
    FederationRequest,
    State,
)
from ..outbox import enqueue_after_commit
from .locking import lock_request
from .remediation import remediation_after_run

if TYPE_CHECKING:
    from django.contrib.auth.models import User

CHECK_TASK = "requests_app.tasks.run_domain_check"
WORSENED_EMAIL_TASK = "requests_app.tasks.send_checks_worsened_email"
# A federated request checked this recently is left out of the weekly re-check, so a beat that
# fires twice (a restart, a second scheduler) queues each request once.
RECHECK_SKIP_WITHIN = timedelta(days=1)
# How far back (domain results, newest first) a worsening is looked for past time-outs.
KNOWN_RUNS_LOOKED_AT = 200


def queue_check_run(
    req: FederationRequest,
    *,
    actor: User | None = None,
    purpose: str = CheckRunPurpose.SUBMISSION,
    actor_label: str = "",
) -> CheckRun:
    """Create a run and queue one task per domain (those the request covers, and one asked to
    be added); call inside the caller's transaction."""
    names = list(req.domains.checked().order_by("name").values_list("name", flat=True))
    run = CheckRun.objects.create(request=req, purpose=purpose, names=names)
    for name in names:
        enqueue_after_commit(CHECK_TASK, run_id=run.pk, domain=name)
    audit(
        req,
        actor,
        "checks.requested",
        message=f"{run.get_purpose_display()}: domain checks queued for: {', '.join(names)}.",
        actor_label=actor_label,
    )
    return run


def check_run_start(*, request_id: int, actor: User | None = None) -> CheckRun:
    """Run the domain checks of a request again (staff with the review permission)."""
    if actor is not None:
        ensure_may(actor, "run_checks")
    with transaction.atomic():
        req = lock_request(request_id)
        return queue_check_run(req, actor=actor, purpose=CheckRunPurpose.RERUN)


def recheck_federated() -> int:
    """Beat, weekly: queue a check run for every federated request; the number queued."""
    queued = 0
    since = timezone.now() - RECHECK_SKIP_WITHIN
    ids = FederationRequest.objects.filter(state=State.FEDERATED).values_list("pk", flat=True)
    for request_id in ids.iterator():
        with transaction.atomic():
            # The lock makes the look for a recent run and the new run one step.
            req = lock_request(request_id)
            if req.state != State.FEDERATED or req.check_runs.filter(requested_at__gte=since):
                continue
            queue_check_run(req, purpose=CheckRunPurpose.RECHECK)
            queued += 1
    return queued


def check_run_record(*, run_id: int, domain: str, report_dict: dict[str, Any]) -> DomainCheck:
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
            # The domains queued; a run from before they were kept: those the request covers.
            wanted = set(run.names) or set(
                run.request.domains.kept().values_list("name", flat=True)
            )
            verdicts = dict(run.domains_checked.values_list("domain", "verdict"))
            if wanted <= verdicts.keys():
                _complete(run, verdicts)
    return check


def _complete(run: CheckRun, verdicts: dict[str, str]) -> None:
    """Mark the run complete, flag what got worse since the request's previous run, and open,
    add to or close the request's remediation case."""
    # Only the domains the agreement covers can have got worse on it: a domain asked to be
    # added is checked for the team's review, and has no case to open until it is added.
    covered = set(run.request.domains.kept().values_list("name", flat=True))
    results = {name: found for name, found in _results_by_domain(run).items() if name in covered}
    run.worsened = worsened_checks(_last_known(run), results)
    run.state = CheckRunState.COMPLETE
    run.completed_at = timezone.now()
    run.save(update_fields=["state", "completed_at", "worsened"])
    audit(
        run.request,
        None,
        "checks.completed",
        message="; ".join(f"{name}: {verdicts[name]}" for name in sorted(verdicts)),
    )
    if run.worsened:
        audit(run.request, None, "checks.worsened", message=describe_worsened(run.worsened))
        # A domain on the allow list that got worse: the team hears of it beside the case.
        if run.request.state == State.FEDERATED:
            enqueue_after_commit(WORSENED_EMAIL_TASK, request_id=run.request_id, run_id=run.pk)
    remediation_after_run(run, results)


def _results_by_domain(run: CheckRun) -> dict[str, list[dict[str, Any]]]:
    return dict(run.domains_checked.values_list("domain", "results"))


def _last_known(run: CheckRun) -> dict[str, list[dict[str, Any]]]:
    """Each domain's checks as last known before run: a check in error (a time-out) says
    nothing, so the status from the run before it stands (pass, time-out, fail is a worsening)."""
    earlier = (
        DomainCheck.objects.filter(run__request=run.request, run__state=CheckRunState.COMPLETE)
        .exclude(run=run)
        .order_by("-run__completed_at", "-run__pk")
        .values_list("domain", "results")[:KNOWN_RUNS_LOOKED_AT]
    )
    known: dict[str, dict[str, dict[str, Any]]] = {}
    for domain, results in earlier:
        for result in results:
            if result.get("status") != Status.ERROR:
                known.setdefault(domain, {}).setdefault(result["id"], result)
    return {domain: list(checks.values()) for domain, checks in known.items()}


def describe_worsened(worsened: list[dict[str, Any]]) -> str:
    """One line per check that got worse, for the audit log and the team's email."""
    return "\n".join(
        f"{domain_unicode(item['domain'])}: {item['check']} "
        f"{item['before']} -> {item['after']}: {item['summary']}"
        for item in worsened
    )


def _error_report(domain: str, result: CheckResult) -> dict[str, Any]:
    """A report holding one error result: the run goes on, the reason is kept for people."""
    return DomainReport(domain, timezone.now(), Status.ERROR, [result]).as_dict()


def timed_out_report(domain: str, seconds: int) -> dict[str, Any]:
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


def unreachable_report(domain: str, reason: str) -> dict[str, Any]:
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


def failed_report(domain: str, reason: str) -> dict[str, Any]:
    """A report for checks that failed unexpectedly (a bug): the run completes, staff see why."""
    return _error_report(
        domain,
        CheckResult(
            "internal",
            Status.ERROR,
            "The checks of this domain failed unexpectedly, so they could not be completed.",
            details={"reason": reason},
            fix="The NHSmail Feedback team will run the checks again.",
        ),
    )
