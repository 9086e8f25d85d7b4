"""Writing audit events, with the client's IP taken from the request being served."""

from contextvars import ContextVar

from portal_kit.http import client_ip

from .models import AuditEvent, FederationRequest

REQUESTER_LABEL = "requester (private status link)"
SYSTEM_LABEL = "system"

_client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)


def audit(
    request: FederationRequest | None,
    actor,
    action: str,
    *,
    message: str = "",
    from_state: str = "",
    to_state: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Record one audit event; call inside the transaction that makes the change."""
    user = actor if getattr(actor, "is_authenticated", False) else None
    if not actor_label:
        actor_label = user.get_username() if user else SYSTEM_LABEL
    return AuditEvent.objects.create(
        request=request,
        actor=user,
        actor_label=actor_label,
        action=action,
        from_state=from_state,
        to_state=to_state,
        message=message,
        ip_address=_client_ip.get(),
    )


class AuditContextMiddleware:
    """Makes the client's address available to audit() for the length of one request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
