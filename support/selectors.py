"""Support requests a signed-in contact may see: their own organisations' only."""

from django.db.models import QuerySet

from accounts.selectors import Viewer

from .models import SupportRequest


def support_requests_for(viewer: Viewer) -> QuerySet[SupportRequest]:
    return (
        SupportRequest.objects.filter(request__organisation_id__in=viewer.organisation_ids)
        .select_related("request__organisation")
        .order_by("-created_at", "-pk")
    )


def support_request_for(viewer: Viewer, reference: str) -> SupportRequest | None:
    return support_requests_for(viewer).filter(reference=reference).first()
