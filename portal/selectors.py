"""What a signed-in contact may see: their own organisations' requests only."""

from typing import Any

from django.db.models import QuerySet

from accounts.selectors import Viewer
from requests_app.models import Contact, ContactRole, FederationRequest, TeamsSetupStep
from requests_app.selectors import contact_roles


def requests_for(viewer: Viewer) -> QuerySet[FederationRequest]:
    """Every request of the viewer's organisations, newest first."""
    requests: QuerySet[FederationRequest] = (
        FederationRequest.objects.filter(organisation_id__in=viewer.organisation_ids)
        .select_related("organisation")
        .prefetch_related("domains")
        .order_by("-created_at", "-pk")
    )
    return requests


def request_for(viewer: Viewer, reference: str) -> FederationRequest | None:
    """The viewer's request with this reference; None for another organisation's (a 404)."""
    return requests_for(viewer).filter(reference=reference).first()


def roles_on(viewer: Viewer, req: FederationRequest) -> set[str]:
    """The viewer's current roles on req (spoc, technical, signatory)."""
    return contact_roles(req, viewer.email)


def spoc_history(req: FederationRequest) -> QuerySet[Contact]:
    """Everyone who has been the request's SPOC, with when, newest first."""
    return req.contacts.filter(role=ContactRole.SPOC).order_by("-added_at", "-pk")


def teams_setup_checklist(req: FederationRequest) -> list[dict[str, Any]]:
    """Each Teams set-up step, with who confirmed it done and when (None while not done)."""
    done = {confirmation.step: confirmation for confirmation in req.teams_setup.all()}
    return [
        {"step": step, "label": label, "done": done.get(step)}
        for step, label in TeamsSetupStep.choices
    ]
