"""Remediation cases: a check that got worse on a federated domain opens a case with a due date
(REMEDIATION_DAYS); a further worsening adds to the open case; a later check that finds every
item back where it was closes it; staff may close it with a reason. Each is audited and emailed
to the organisation (requester, SPOC and signatory).

Nothing here suspends anything: an overdue case is listed for the Feedback team, who decide
(services.suspension.request_suspend, audited there).
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from .. import selectors
from ..audit import audit
from ..checks.compare import StoredResults, is_back
from ..checks.names import check_name
from ..domains import domain_unicode
from ..models import CheckRun, FederationRequest, RemediationCase, RemediationClosure, State
from ..outbox import enqueue_after_commit
from .locking import lock_request

if TYPE_CHECKING:
    from django.contrib.auth.models import User

EMAIL_TASK = "requests_app.tasks.send_remediation_email"
OVERDUE_EMAIL_TASK = "requests_app.tasks.send_overdue_remediation_email"


def remediation_due_date(today: date | None = None) -> date:
    """The due date of a case opened today."""
    return (today or timezone.localdate()) + timedelta(days=settings.REMEDIATION_DAYS)


def _queue_email(case: RemediationCase, kind: str, key: str) -> None:
    enqueue_after_commit(
        EMAIL_TASK, request_id=case.request_id, case_id=case.pk, kind=kind, key=key
    )


def _describe(items: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{domain_unicode(item['domain'])}: {check_name(item['check'])} "
        f"{item['before']} -> {item['status']}: {item['summary']}"
        for item in items
    )


def _result(results: StoredResults, domain: str, check: str) -> dict[str, Any] | None:
    for result in results.get(domain, []):
        if result.get("id") == check:
            return result
    return None


def _new_item(worse: dict[str, Any], results: StoredResults, found_at: str) -> dict[str, Any]:
    result = _result(results, worse["domain"], worse["check"]) or {}
    return {
        "domain": worse["domain"],
        "check": worse["check"],
        "before": worse["before"],
        "status": worse["after"],
        "summary": worse.get("summary", ""),
        "fix": result.get("fix", ""),
        "found_at": found_at,
        "fixed": False,
    }


def _refresh(item: dict[str, Any], results: StoredResults, domains: set[str]) -> dict[str, Any]:
    """The item as the newest run sees it. A domain no longer in the request has nothing left
    to fix; a check the run could not make (a time-out of the whole domain) is not fixed."""
    if item["domain"] not in domains:
        return {**item, "fixed": True}
    result = _result(results, item["domain"], item["check"])
    if result is None:
        return {**item, "fixed": False}
    return {
        **item,
        "status": result.get("status", ""),
        "summary": result.get("summary", ""),
        "fix": result.get("fix", ""),
        "fixed": is_back(item["before"], result.get("status")),
    }


def remediation_after_run(run: CheckRun, results: StoredResults) -> RemediationCase | None:
    """Open, add to or close the request's case on a completed run's results (run.worsened
    against the checks before it). Call inside check_run_record's transaction."""
    # The request's lock serialises two runs completing at once (a staff run beside the weekly
    # one): the second sees the case the first opened. Order: the run's lock, then this one;
    # nothing takes them the other way round.
    req = lock_request(run.request_id)
    case: RemediationCase | None = (
        RemediationCase.objects.select_for_update().open().filter(request=req).first()
    )
    if case is None:
        # A request in any other state is the team's already (suspended: they decided).
        if req.state == State.FEDERATED and run.worsened:
            return _open(req, run, results)
        return None
    _update(case, req, run, results)
    return case


def _open(req: FederationRequest, run: CheckRun, results: StoredResults) -> RemediationCase:
    found_at = (run.completed_at or timezone.now()).isoformat()
    case = RemediationCase.objects.create(
        request=req,
        opened_by_run=run,
        due_date=remediation_due_date(),
        items=[_new_item(worse, results, found_at) for worse in run.worsened],
    )
    audit(
        req,
        None,
        "remediation.opened",
        message=f"To fix by {case.due_date:%d %B %Y}:\n{_describe(case.items)}",
    )
    _queue_email(case, "remediation_opened", key="opened")
    return case


def _update(
    case: RemediationCase, req: FederationRequest, run: CheckRun, results: StoredResults
) -> None:
    domains = set(req.domains.kept().values_list("name", flat=True))
    items = [_refresh(item, results, domains) for item in case.items]
    known = {(item["domain"], item["check"]) for item in items}
    found_at = (run.completed_at or timezone.now()).isoformat()
    added = [
        _new_item(worse, results, found_at)
        for worse in run.worsened
        if (worse["domain"], worse["check"]) not in known
    ]
    case.items = items + added
    if added:
        audit(
            req,
            None,
            "remediation.extended",
            message=f"Added to the case due {case.due_date:%d %B %Y}:\n{_describe(added)}",
        )
        _queue_email(case, "remediation_extended", key=f"extended:{run.pk}")
    if all(item["fixed"] for item in case.items):
        case.closed_at = timezone.now()
        case.how_closed = RemediationClosure.FIXED
        case.closed_by_run = run
        audit(
            req,
            None,
            "remediation.closed",
            message="Fixed: the checks of "
            f"{case.closed_at:%d %B %Y} found every item back where it was.\n"
            f"{_describe(case.items)}",
        )
        _queue_email(case, "remediation_closed", key="closed")
    case.save()


def remediation_close(*, case_id: int, actor: User, reason: str) -> RemediationCase:
    """Staff close an open case the checks do not (yet) call fixed, saying why; the
    organisation is emailed the reason."""
    ensure_may(actor, "close_remediation")
    reason = reason.strip()
    if not reason:
        raise ActionRefused("Give the reason for closing the case; the organisation is told it.")
    request_id = (
        RemediationCase.objects.filter(pk=case_id).values_list("request_id", flat=True).first()
    )
    if request_id is None:
        raise ActionRefused("That remediation case does not exist.")
    with transaction.atomic():
        req = lock_request(request_id)
        case = RemediationCase.objects.select_for_update().get(pk=case_id)
        if not case.is_open:
            raise ActionRefused(
                f"This case was already closed on {case.closed_at:%d %B %Y} "
                f"({case.get_how_closed_display().lower()}). Reload the page to see it."
            )
        case.closed_at = timezone.now()
        case.how_closed = RemediationClosure.STAFF
        case.closed_by = actor
        case.close_reason = reason
        case.save()
        audit(req, actor, "remediation.closed", message=f"Closed by staff: {reason}")
        _queue_email(case, "remediation_closed", key="closed")
    return case


def remediation_list_overdue(*, today: date | None = None) -> int:
    """Beat, daily: email the Feedback team the overdue cases awaiting a decision (once a day,
    none when there are none); the number listed. No state changes: suspending is a person's
    decision."""
    today = today or timezone.localdate()
    count = selectors.overdue_remediation_cases(today=today).count()
    if count:
        with transaction.atomic():
            enqueue_after_commit(OVERDUE_EMAIL_TASK, on_date=today.isoformat())
    return count
