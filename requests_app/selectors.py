"""Reads shared by views, the admin, commands and tasks."""

import contextlib
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import idna
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from .allow_list_formats import AllowListRow
from .audit_chain import CHAINED_FIELDS, ChainReport, verify
from .models import (
    OFFBOARDING_STATES,
    AdditionState,
    AllowListApplication,
    AllowListEntry,
    AuditEvent,
    CheckRun,
    CheckRunState,
    CheckStatus,
    Contact,
    ContactRole,
    DomainAddition,
    FederationRequest,
    OffboardingAsk,
    OffboardingDecision,
    Organisation,
    PendingSubmission,
    RemediationCase,
    RequestedDomain,
)


def domain_unavailable_reason(
    name: str, *, exclude_request_id: int | None = None, reveal_reference: bool = False
) -> str:
    """A sentence saying why name cannot be requested now, or "" when it can.

    Only staff are told which request holds the domain: the public form must not tell anyone
    who types a domain which organisation asked for it.
    """
    if AllowListEntry.objects.listed(timezone.localdate()).filter(domain=name).exists():
        return f"“{name}” is already federated with NHSmail; there is nothing more to request."
    live = RequestedDomain.objects.filter(name=name, is_live=True)
    if exclude_request_id is not None:
        live = live.exclude(request_id=exclude_request_id)
    holder = live.select_related("request").first()
    if holder and reveal_reference:
        return f"“{name}” is already in request {holder.request.reference}, which is still open."
    if holder:
        return (
            f"“{name}” is already in another request that is still open. If it is yours, follow "
            "the status link in its confirmation email; otherwise ask the NHSmail Feedback team."
        )
    return ""


def request_by_status_token(token: str) -> FederationRequest | None:
    """The request a private status link points at, with what its page shows."""
    request: FederationRequest | None = (
        FederationRequest.objects.select_related("organisation")
        .prefetch_related("domains", "contacts")
        .filter(status_token=token)
        .first()
    )
    return request


def pending_submission(submission_id: int | None) -> PendingSubmission | None:
    """A public submission still waiting for its requester's confirmation (None once used)."""
    if submission_id is None:
        return None
    submission: PendingSubmission | None = PendingSubmission.objects.filter(
        pk=submission_id, confirmed_at__isnull=True
    ).first()
    return submission


def request_timeline(req: FederationRequest) -> list[AuditEvent]:
    """State changes only, oldest first: what the requester may see of the audit log."""
    return list(
        AuditEvent.objects.filter(request=req).exclude(to_state="").order_by("created_at", "pk")
    )


def requests_for_admin() -> QuerySet[FederationRequest]:
    """The changelist's rows; a fixed number of queries whatever the page size."""
    requests: QuerySet[FederationRequest] = FederationRequest.objects.select_related(
        "organisation"
    ).prefetch_related(Prefetch("domains", queryset=RequestedDomain.objects.order_by("name")))
    return requests


def request_search_filter(term: str) -> Q:
    """Requests whose reference, organisation name, ODS code or a domain holds every word.

    A domain matches as typed or as its A-label, so "bücher" finds xn--bcher-kva. Matching ids,
    not a join: no DISTINCT over the whole table.
    """
    condition = Q()
    for word in term.split():
        forms = {word.lower()}
        with contextlib.suppress(idna.IDNAError, UnicodeError):  # not a domain: match as typed
            forms.add(idna.encode(word, uts46=True).decode("ascii"))
        domain_match = Q()
        for form in forms:
            domain_match |= Q(name__icontains=form)
        # One UNION of ids, so each table is searched through its own (trigram) index.
        matching_ids = (
            FederationRequest.objects.filter(reference__icontains=word)
            .values("pk")
            .union(
                FederationRequest.objects.filter(
                    organisation__in=Organisation.objects.filter(name__icontains=word).values("pk")
                ).values("pk"),
                # ODS codes are stored in capitals (forms and services upper-case them).
                FederationRequest.objects.filter(organisation__ods_code=word.upper()).values("pk"),
                RequestedDomain.objects.filter(domain_match).values("request_id"),
            )
        )
        condition &= Q(pk__in=matching_ids)
    return condition


def recent_audit_events(req: FederationRequest, *, limit: int = 50) -> list[AuditEvent]:
    """The newest audit events of a request, newest first (the admin's change page)."""
    return list(AuditEvent.objects.filter(request=req).order_by("-created_at", "-pk")[:limit])


def audit_chain_report(*, anchor: str = "") -> ChainReport:
    """Walk the whole audit log in key order, recomputing each event's hash (verify_audit)."""
    rows = (
        AuditEvent.objects.order_by("pk")
        .values_list("pk", *CHAINED_FIELDS, "chain_hash")
        .iterator(chunk_size=5_000)
    )
    return verify(rows, anchor=anchor)


# Worst first, for people reading check results (CONVENTIONS: fail, warn, error, info, pass).
STATUS_ORDER = {"fail": 0, "warn": 1, "error": 2, "info": 3, "pass": 4}


def latest_check_run(req: FederationRequest, *, completed: bool = False) -> CheckRun | None:
    """The newest check run of a request (only completed ones when completed), or None."""
    runs = CheckRun.objects.filter(request=req)
    if completed:
        runs = runs.filter(state=CheckRunState.COMPLETE)
    return runs.prefetch_related("domains_checked").order_by("-requested_at", "-pk").first()


def check_run_results(run: CheckRun, *, for_requester: bool = False) -> list[dict[str, Any]]:
    """Each domain of the run, worst verdict first, with its checks worst first.

    for_requester keeps only what the status page may show: the status, summary and fix.
    """
    labels = dict(CheckStatus.choices)
    domains = []
    for check in run.domains_checked.all():
        results = [
            {
                **({} if for_requester else result),
                "status": result.get("status", ""),
                "status_label": labels.get(result.get("status"), result.get("status", "")),
                "summary": result.get("summary", ""),
                "fix": result.get("fix", ""),
            }
            for result in check.results
        ]
        results.sort(key=lambda result: STATUS_ORDER.get(result["status"], 99))
        domains.append(
            {
                "domain": check.display_name,
                "verdict": check.verdict,
                "verdict_label": labels.get(check.verdict, check.verdict),
                "checked_at": check.checked_at,
                "results": results,
            }
        )
    return sorted(domains, key=lambda d: (STATUS_ORDER.get(d["verdict"], 99), d["domain"]))


def allow_list_rows(*, on_date: date | None = None) -> list[AllowListRow]:
    """The allow list, a row per domain: the entries in effect on on_date, or without it every
    entry not ended by today (those starting later included)."""
    today = timezone.localdate()
    entries = (
        AllowListEntry.objects.in_effect(on_date)
        if on_date is not None
        else AllowListEntry.objects.listed(today)
    )
    rows: dict[str, AllowListRow] = {}
    # Oldest first: a domain reinstated before its suspension took effect keeps its first row.
    for entry in entries.select_related("request").order_by("domain", "effective_date", "pk"):
        rows.setdefault(
            entry.domain,
            AllowListRow(
                domain=entry.domain,
                effective_date=entry.effective_date,
                source=entry.source,
                request_reference=(entry.request.reference or "") if entry.request else "",
            ),
        )
    return list(rows.values())


@dataclass(frozen=True)
class ChangeSet:
    """What the tenant must add and remove to hold current, the allow list in effect today."""

    add: list[str]
    remove: list[str]
    current: list[str]
    since: AllowListApplication | None


def allow_list_change_set() -> ChangeSet:
    """The change since the last change set recorded as applied (all of it, before any)."""
    last = AllowListApplication.objects.order_by("-applied_at", "-pk").first()
    before = set(last.domains) if last else set()
    current = {row.domain for row in allow_list_rows(on_date=timezone.localdate())}
    return ChangeSet(
        add=sorted(current - before),
        remove=sorted(before - current),
        current=sorted(current),
        since=last,
    )


def domains_on_allow_list(names: list[str]) -> list[str]:
    """Those of names already on the allow list, sorted."""
    listed = (
        AllowListEntry.objects.listed(timezone.localdate())
        .filter(domain__in=names)
        .values_list("domain", flat=True)
    )
    return sorted(listed)


def pending_offboarding_ask(req: FederationRequest) -> OffboardingAsk | None:
    """The organisation's ask to end req's agreement that waits for the Feedback team, or None
    (also once the agreement has ended another way: nothing is left to decide)."""
    if req.state not in OFFBOARDING_STATES:
        return None
    ask: OffboardingAsk | None = req.offboarding_asks.filter(
        decision=OffboardingDecision.PENDING
    ).first()
    return ask


def current_signatory(req: FederationRequest) -> Contact | None:
    """The request's signatory now, or None while nobody is named."""
    contact: Contact | None = req.contacts.filter(
        role=ContactRole.SIGNATORY, removed_at__isnull=True
    ).first()
    return contact


def contact_roles(req: FederationRequest, email: str) -> set[str]:
    """email's current roles on req (spoc, technical, signatory); empty for anyone else."""
    contacts = req.contacts.filter(email__iexact=email, removed_at__isnull=True)
    return set(contacts.values_list("role", flat=True))


def technical_contact(req: FederationRequest, contact_id: int) -> Contact | None:
    """One of req's current technical contacts, or None."""
    contact: Contact | None = req.contacts.filter(
        pk=contact_id, role=ContactRole.TECHNICAL, removed_at__isnull=True
    ).first()
    return contact


@dataclass(frozen=True)
class ChecksNotPassed:
    """What in the completed run a review is judged by did not pass, as "domain: check"."""

    failed: list[str]
    not_checked: list[str]  # could not be made: time-outs, SERVFAIL, REFUSED, no resolver

    def __bool__(self) -> bool:
        return bool(self.failed or self.not_checked)


def checks_not_passed(req: FederationRequest) -> ChecksNotPassed:
    """Each failed check, and each that could not be made, of the run a review is judged by: a
    check that could not be made is not a pass (issue 11), and asks for a reason as a failure does.
    """
    run = req.latest_completed_check_run()
    failed: list[str] = []
    not_checked: list[str] = []
    if run is None:
        return ChecksNotPassed(failed, not_checked)
    for check in run.domains_checked.all():
        errors = [r.get("id", "") for r in check.results if r.get("status") == CheckStatus.ERROR]
        failed += [
            f"{check.display_name}: {result.get('id', '')}"
            for result in check.results
            if result.get("status") == CheckStatus.FAIL
        ]
        not_checked += [f"{check.display_name}: {check_id}" for check_id in errors]
        if check.verdict == CheckStatus.ERROR and not errors:
            not_checked.append(f"{check.display_name}: every check")
    return ChecksNotPassed(failed, not_checked)


def remediation_cases(req: FederationRequest) -> list[RemediationCase]:
    """Every remediation case of req, the open one (at most one) first, then newest first."""
    cases = RemediationCase.objects.filter(request=req).select_related("closed_by")
    return sorted(cases, key=lambda case: (not case.is_open, -case.opened_at.timestamp()))


def open_remediation_case(req: FederationRequest) -> RemediationCase | None:
    """req's open remediation case while it concerns the organisation (federated or
    suspended), or None."""
    case: RemediationCase | None = RemediationCase.objects.in_force().filter(request=req).first()
    return case


def overdue_remediation_cases(*, today: date | None = None) -> QuerySet[RemediationCase]:
    """Open cases past their due date on federated requests, most overdue first: each awaits a
    person's decision (suspend, or close the case with a reason). The team's overview lists
    these."""
    today = today or timezone.localdate()
    cases: QuerySet[RemediationCase] = (
        RemediationCase.objects.awaiting_decision(today)
        .select_related("request__organisation")
        .order_by("due_date", "pk")
    )
    return cases


def requests_listed(
    *,
    state: str = "",
    organisation: str = "",
    domain: str = "",
    changed_since: datetime | None = None,
) -> QuerySet[FederationRequest]:
    """Requests for a list that pages through all of them (the API's), each with its
    organisation, domains and when it last changed: a fixed number of queries per page.

    organisation is an ODS code or the exact name (any case); domain an A-label, held now or
    once. When a request last changed is its newest audit event: every change to a request or
    its parts (domains, contacts, evidence) is audited in its transaction, which the row's own
    updated_at is not told of."""
    newest_event = (
        AuditEvent.objects.filter(request=OuterRef("pk"))
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    requests: QuerySet[FederationRequest] = (
        FederationRequest.objects.select_related("organisation")
        .prefetch_related(Prefetch("domains", queryset=RequestedDomain.objects.order_by("name")))
        .annotate(last_changed_at=Subquery(newest_event))
    )
    if state:
        requests = requests.filter(state=state)
    if organisation:
        term = organisation.strip()
        requests = requests.filter(
            Q(organisation__ods_code=term.upper()) | Q(organisation__name__iexact=term)
        )
    if domain:
        requests = requests.filter(
            pk__in=RequestedDomain.objects.filter(name=domain).values("request_id")
        )
    if changed_since is not None:
        # The audit log's created_at index finds the events since; the requests are theirs.
        requests = requests.filter(
            pk__in=AuditEvent.objects.filter(
                created_at__gte=changed_since, request__isnull=False
            ).values("request_id")
        )
    return requests


def request_by_reference(reference: str) -> FederationRequest | None:
    """One request with what its full description reads (domains, current contacts, when it
    last changed), or None."""
    request: FederationRequest | None = (
        requests_listed()
        .prefetch_related(
            Prefetch(
                "contacts",
                queryset=Contact.objects.filter(removed_at__isnull=True).order_by("role", "pk"),
                to_attr="current_contacts",
            )
        )
        .filter(reference=reference.strip().upper())
        .first()
    )
    return request


def open_addition(req: FederationRequest) -> DomainAddition | None:
    """The request's addition still open (asked, or its amended agreement out), or None."""
    found: DomainAddition | None = (
        DomainAddition.objects.select_related("domain")
        .filter(request=req, state__in=[AdditionState.REQUESTED, AdditionState.APPROVED])
        .first()
    )
    return found


def allow_list_changes_on(day: date) -> tuple[list[str], list[str]]:
    """The domains that join the allow list on day and those that leave it (their entries
    were dated ahead: a federation, suspension or removal from a later date)."""
    starting = AllowListEntry.objects.filter(effective_date=day).values_list("domain", flat=True)
    ending = AllowListEntry.objects.filter(effective_to=day).values_list("domain", flat=True)
    return sorted(starting), sorted(ending)
