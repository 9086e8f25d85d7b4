"""Reads shared by views, the admin, commands and tasks."""

from django.db.models import Prefetch, QuerySet

from .models import (
    AllowListEntry,
    AuditEvent,
    FederationRequest,
    RequestedDomain,
    State,
)


def domain_unavailable_reason(name: str, *, exclude_request_id: int | None = None) -> str:
    """A sentence saying why name cannot be requested now, or "" when it can."""
    if AllowListEntry.objects.filter(domain=name).exists():
        return f"“{name}” is already federated with NHSmail; there is nothing more to request."
    live = RequestedDomain.objects.filter(name=name, is_live=True)
    if exclude_request_id is not None:
        live = live.exclude(request_id=exclude_request_id)
    holder = live.select_related("request").first()
    if holder:
        return (
            f"“{name}” is already in request {holder.request.reference}, which is still open. "
            "Ask the person who raised it, or the NHSmail Feedback team, about its progress."
        )
    return ""


def request_by_status_token(token: str) -> FederationRequest | None:
    """The request a private status link points at, with what its page shows."""
    return (
        FederationRequest.objects.select_related("organisation")
        .prefetch_related("domains", "contacts")
        .filter(status_token=token)
        .first()
    )


def request_timeline(request: FederationRequest) -> list[AuditEvent]:
    """State changes only, oldest first: what the requester may see of the audit log."""
    return list(
        AuditEvent.objects.filter(request=request).exclude(to_state="").order_by("created_at", "pk")
    )


def requests_for_admin() -> QuerySet[FederationRequest]:
    """The changelist's rows; a fixed number of queries whatever the page size."""
    return FederationRequest.objects.select_related("organisation").prefetch_related(
        Prefetch("domains", queryset=RequestedDomain.objects.order_by("name"))
    )


def allow_list_domains(*, on_date=None) -> list[str]:
    """A-labels on the allow list, sorted and unique; only those in effect by on_date if given."""
    entries = AllowListEntry.objects.all()
    if on_date is not None:
        entries = entries.filter(effective_date__lte=on_date)
    return sorted(set(entries.values_list("domain", flat=True)))


def federated_requests() -> QuerySet[FederationRequest]:
    return FederationRequest.objects.filter(state=State.FEDERATED)
