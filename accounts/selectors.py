"""Who a signed-in contact is, and what they may see: their own organisations' requests only."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import Lower

from agreements.models import EvidenceCriterion
from requests_app.models import Contact, FederationRequest, TeamsSetupStep


@dataclass(frozen=True)
class Viewer:
    """A signed-in contact, as found on this request: the organisations they are a contact of."""

    email: str
    name: str
    organisation_ids: frozenset[int]


def current_contacts(email: str) -> QuerySet[Contact]:
    """The contact entries that name email now (not removed), on any request."""
    # Lower(email) = lower(address): the form the contact_email_lower index holds.
    return Contact.objects.annotate(email_lower=Lower("email")).filter(
        email_lower=email.strip().lower(), removed_at__isnull=True
    )


def is_current_contact(email: str) -> bool:
    return current_contacts(email).exists()


def viewer_for(email: str) -> Viewer | None:
    """The Viewer for a signed-in address, or None once it is nobody's contact any more."""
    rows = list(
        current_contacts(email)
        .order_by("-added_at")
        .values_list("name", "request__organisation_id")
    )
    if not rows:
        return None
    return Viewer(email=email, name=rows[0][0], organisation_ids=frozenset(org for _, org in rows))


def requests_for(viewer: Viewer) -> QuerySet[FederationRequest]:
    """Every request of the viewer's organisations, newest first."""
    return (
        FederationRequest.objects.filter(organisation_id__in=viewer.organisation_ids)
        .select_related("organisation")
        .prefetch_related("domains")
        .order_by("-created_at", "-pk")
    )


def request_for(viewer: Viewer, reference: str) -> FederationRequest | None:
    """The viewer's request with this reference; None for another organisation's (a 404)."""
    return requests_for(viewer).filter(reference=reference).first()


def evidence_for(req: FederationRequest) -> list[dict]:
    """Each DCB1596 criterion with the state of the organisation's newest evidence for it."""
    newest = {}
    for item in req.evidence_items.select_related("criterion").order_by("uploaded_at", "pk"):
        newest[item.criterion_id] = item
    rows = []
    for criterion in EvidenceCriterion.objects.order_by("position"):
        item = newest.get(criterion.pk)
        rows.append(
            {
                "criterion": criterion,
                "status": item.get_status_display() if item else "Not received",
                "returned_reason": item.returned_reason
                if item and item.status == "returned"
                else "",
            }
        )
    return rows


def roles_on(viewer: Viewer, req: FederationRequest) -> set[str]:
    """The viewer's current roles on req (spoc, technical, signatory)."""
    return set(
        req.contacts.filter(email__iexact=viewer.email, removed_at__isnull=True).values_list(
            "role", flat=True
        )
    )


def spoc_history(req: FederationRequest) -> QuerySet[Contact]:
    """Everyone who has been the request's SPOC, with when, newest first."""
    return req.contacts.filter(role="spoc").order_by("-added_at", "-pk")


def teams_setup_checklist(req: FederationRequest) -> list[dict]:
    """Each Teams set-up step, with who confirmed it done and when (None while not done)."""
    done = {confirmation.step: confirmation for confirmation in req.teams_setup.all()}
    return [
        {"step": step, "label": label, "done": done.get(step)}
        for step, label in TeamsSetupStep.choices
    ]
