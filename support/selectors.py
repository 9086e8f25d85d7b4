"""Support requests a signed-in contact may see: their own organisations' only."""

from django.db.models import QuerySet

from accounts.selectors import Viewer
from requests_app.models import Contact, ContactRole, FederationRequest, State

from .models import SupportRequest

# The agreement is signed from "signed" on: only then are its contacts the ones NHSmail answers.
SIGNED_STATES = (State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED)
CONTACT_ROLES = (ContactRole.SPOC, ContactRole.TECHNICAL, ContactRole.SIGNATORY)


def support_requests_for(viewer: Viewer) -> QuerySet[SupportRequest]:
    return (
        SupportRequest.objects.filter(request__organisation_id__in=viewer.organisation_ids)
        .select_related("request__organisation")
        .order_by("-created_at", "-pk")
    )


def support_request_for(viewer: Viewer, reference: str) -> SupportRequest | None:
    return support_requests_for(viewer).filter(reference=reference).first()


def requests_open_to_support(email: str) -> QuerySet[FederationRequest]:
    """The requests with a signed agreement that name email as a current contact."""
    requests: QuerySet[FederationRequest] = (
        FederationRequest.objects.filter(
            state__in=SIGNED_STATES,
            contacts__email__iexact=email,
            contacts__removed_at__isnull=True,
            contacts__role__in=CONTACT_ROLES,
        )
        .select_related("organisation")
        .distinct()
        .order_by("-created_at")
    )
    return requests


def named_contact(req: FederationRequest, email: str) -> Contact | None:
    """The current contact entry of email on req, in a role that may ask for support."""
    return req.contacts.filter(
        email__iexact=email, removed_at__isnull=True, role__in=CONTACT_ROLES
    ).first()


def support_recipient(support: SupportRequest) -> str:
    """Who hears from the team: whoever raised it while still a named contact, else the SPOC."""
    if named_contact(support.request, support.raised_by_email) is not None:
        return support.raised_by_email
    spoc = support.request.contacts.filter(role=ContactRole.SPOC, removed_at__isnull=True).first()
    return spoc.email if spoc else ""


def support_requests_for_staff(
    *, status: str | None = None, request_reference: str | None = None
) -> QuerySet[SupportRequest]:
    """Every support request, as the Feedback team (and the service desk) work them, newest
    first; filtered by status and by the federation request's reference when given."""
    found = SupportRequest.objects.select_related("request__organisation").order_by(
        "-created_at", "-pk"
    )
    if status:
        found = found.filter(status=status)
    if request_reference:
        found = found.filter(request__reference=request_reference)
    return found


def support_request_with_thread(reference: str) -> SupportRequest | None:
    """One support request by its reference with its replies (oldest first), or None."""
    return (
        SupportRequest.objects.select_related("request__organisation")
        .prefetch_related("replies__author")
        .filter(reference=reference)
        .first()
    )
