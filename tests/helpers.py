"""Small assertions shared by the service, view and admin tests."""

from requests_app.models import AuditEvent, FederationRequest, OutboxMessage


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
