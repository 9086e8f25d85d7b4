"""Writing audit events, with the client's IP taken from the request being served."""

import contextlib
import ipaddress
from contextvars import ContextVar

from django.conf import settings

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


def client_ip(request) -> str | None:
    """The client's address: REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address
    the outermost trusted proxy saw (each proxy appends to X-Forwarded-For)."""
    address = request.META.get("REMOTE_ADDR") or None
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies:
        forwarded = [
            part.strip()
            for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")
            if part.strip()
        ]
        if len(forwarded) >= proxies:
            # A proxy that writes nonsense: keep the connection's address.
            with contextlib.suppress(ValueError):
                address = str(ipaddress.ip_address(forwarded[-proxies]))
    return address


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
