"""Who a signed-in contact is, and what they may see: their own organisations' requests only."""

from dataclasses import dataclass

from django.db.models import QuerySet
from django.db.models.functions import Lower

from requests_app.models import Contact


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
