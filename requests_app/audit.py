"""Writing audit events, with the client's IP taken from the request being served."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING

from django.http import HttpRequest, HttpResponse

from portal_kit.http import client_ip

from .models import AuditEvent, FederationRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

REQUESTER_LABEL = "requester (private status link)"
SYSTEM_LABEL = "system"

_client_ip: ContextVar[str | None] = ContextVar("client_ip", default=None)

AuditListener = Callable[[AuditEvent], None]
# Called with every event audit() writes, inside the same transaction: an app built on this one
# (webhooks) registers here in its AppConfig.ready(), so requests_app never imports it. A
# listener that raises rolls the change back with it: keep listeners to writes of rows.
AUDIT_LISTENERS: list[AuditListener] = []


def on_audit(listener: AuditListener) -> AuditListener:
    """Register listener to be called with each audit event as it is written (once each)."""
    if listener not in AUDIT_LISTENERS:
        AUDIT_LISTENERS.append(listener)
    return listener


def audit(
    req: FederationRequest | None,
    actor: User | None,
    action: str,
    *,
    message: str = "",
    from_state: str = "",
    to_state: str = "",
    actor_label: str = "",
) -> AuditEvent:
    """Record one audit event; call inside the transaction that makes the change."""
    user = actor if actor is not None and actor.is_authenticated else None
    if not actor_label:
        actor_label = user.get_username() if user else SYSTEM_LABEL
    event: AuditEvent = AuditEvent.objects.create(
        request=req,
        actor=user,
        actor_label=actor_label,
        action=action,
        from_state=from_state,
        to_state=to_state,
        message=message,
        ip_address=_client_ip.get(),
    )
    for listener in AUDIT_LISTENERS:
        listener(event)
    return event


class AuditContextMiddleware:
    """Makes the client's address available to audit() for the length of one request."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        token = _client_ip.set(client_ip(request))
        try:
            return self.get_response(request)
        finally:
            _client_ip.reset(token)
