"""Reads shared by views, the admin, commands and tasks."""

import contextlib
from datetime import date
from typing import Any

import idna
from django.db.models import Prefetch, Q, QuerySet

from .allow_list_formats import AllowListRow
from .audit_chain import CHAINED_FIELDS, ChainReport, verify
from .models import (
    AllowListEntry,
    AuditEvent,
    CheckRun,
    CheckRunState,
    CheckStatus,
    Contact,
    ContactRole,
    FederationRequest,
    Organisation,
    RequestedDomain,
)


def domain_unavailable_reason(
    name: str, *, exclude_request_id: int | None = None, reveal_reference: bool = False
) -> str:
    """A sentence saying why name cannot be requested now, or "" when it can.

    Only staff are told which request holds the domain: the public form must not tell anyone
    who types a domain which organisation asked for it.
    """
    if AllowListEntry.objects.filter(domain=name).exists():
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
                "checked_at": check.checked_at,
                "results": results,
            }
        )
    return sorted(domains, key=lambda d: (STATUS_ORDER.get(d["verdict"], 99), d["domain"]))


def allow_list_rows(*, on_date: date | None = None) -> list[AllowListRow]:
    """Every allow list entry with its details, by domain (only those in effect by on_date)."""
    entries = AllowListEntry.objects.select_related("request").order_by("domain")
    if on_date is not None:
        entries = entries.filter(effective_date__lte=on_date)
    return [
        AllowListRow(
            domain=entry.domain,
            effective_date=entry.effective_date,
            source=entry.source,
            request_reference=(entry.request.reference or "") if entry.request else "",
        )
        for entry in entries
    ]


def domains_on_allow_list(names: list[str]) -> list[str]:
    """Those of names already on the allow list, sorted."""
    listed = AllowListEntry.objects.filter(domain__in=names).values_list("domain", flat=True)
    return sorted(listed)


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


def failed_checks(req: FederationRequest) -> list[str]:
    """Each failed check, as "domain: check", of the completed run a review is judged by."""
    run = req.latest_completed_check_run()
    if run is None:
        return []
    return [
        f"{check.display_name}: {result.get('id', '')}"
        for check in run.domains_checked.all()
        for result in check.results
        if result.get("status") == CheckStatus.FAIL
    ]
