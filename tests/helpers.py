"""Small assertions shared by the service, view and admin tests."""

from requests_app.models import AuditEvent, FederationRequest, OutboxMessage
from requests_app.services import ContactDetails, request_submit


def reload(req) -> FederationRequest:
    """The request as the next page load would see it."""
    return FederationRequest.objects.get(pk=req.pk)


def audit_trail(req) -> list[tuple]:
    return [
        (event.action, event.from_state, event.to_state, event.actor)
        for event in AuditEvent.objects.filter(request_id=req.pk).order_by("pk")
    ]


def outbox_rows() -> list[tuple]:
    return [(row.task_name, row.kwargs) for row in OutboxMessage.objects.order_by("pk")]


def assert_untouched(req, state):
    """Nothing a person could see changed: same state, no audit event, no job queued."""
    assert reload(req).state == state
    assert audit_trail(req) == []
    assert OutboxMessage.objects.count() == 0


def submit_lakeside_care(**overrides) -> FederationRequest:
    """A request submitted through the service, as the public form would, for Lakeside Care."""
    arguments = {
        "organisation_name": "Lakeside Care",
        "ods_code": "",
        "has_nhsmail_presence": False,
        "domains": ["lakeside-care.example.org.uk"],
        "justification": "Teams federation",
        "requester_name": "Lee Requester",
        "requester_email": "lee@lakeside-care.example.org.uk",
        "spoc": ContactDetails("Sam Spoc", "IT Manager", "sam@lakeside-care.example.org.uk"),
        "technical_contact": ContactDetails(
            "Tess Tech", "Engineer", "tess@lakeside-care.example.org.uk"
        ),
        **overrides,
    }
    return request_submit(**arguments)
