"""Which audit events become which webhook events, and the deliveries queued for them.

requests_app.audit calls on_audit_event (registered in apps.py) with every audit event, inside
the transaction of the change it records: a delivery row exists exactly when the change
committed, and its job is published from the outbox after the commit.

Payloads are thin: the request's reference and state (what GET on the API's request resources
shows), never names, email addresses or messages; a receiver reads the rest through the API.
"""

from __future__ import annotations

import re
import uuid
from datetime import date
from typing import Any

from django.utils import timezone

from requests_app.audit import on_audit
from requests_app.models import AuditEvent, State
from requests_app.outbox import enqueue_after_commit
from requests_app.selectors import allow_list_changes_on
from support.models import SupportRequest

from .models import WebhookDelivery, WebhookEndpoint

DELIVER_TASK = "webhooks.tasks.deliver_webhook"

# Each event, and the scope a client needs to be sent it (as to read the same through the API).
EVENT_TYPES: dict[str, str] = {
    "request.state_changed": "requests:read",
    "request.checks_completed": "requests:read",
    "support.updated": "support:read",
    "allowlist.changed": "allowlist:read",
}
EVENT_CHOICES = [(name, name) for name in EVENT_TYPES]

# Audit action -> webhook event, besides the rules in webhook_events_for (any transition is
# request.state_changed; entering or leaving federated changes the allow list).
AUDIT_ACTION_EVENTS: dict[str, str] = {
    # requests_app.services.check_runs._complete: every domain of the run has its result.
    "checks.completed": "request.checks_completed",
    # support.services: a named contact raised a support request or replied to one; staff
    # moved it on or replied.
    "support.raised": "support.updated",
    "support.contact_replied": "support.updated",
    "support.updated": "support.updated",
    # requests_app.services.allow_list: the allow list imported from the tenant.
    "allowlist.imported": "allowlist.changed",
    # requests_app.services.domain_changes: a federated request's domain came off the list.
    "request.domain_removed": "allowlist.changed",
    # requests_app.services.domain_additions: a signed amendment put a new domain on the list.
    "domain.added": "allowlist.changed",
}

# A transition into or out of one of these changes what the allow list holds (now or later).
ALLOW_LIST_STATES = {State.FEDERATED, State.REVOKED, State.OFFBOARDED}

# Support's audit messages start with the reference: "SR-000123: open -> waiting", "SR-000123"
# (support/services/support_requests.py).
SUPPORT_REFERENCE = re.compile(r"^(SR-\d+)\b")


def webhook_events_for(event: AuditEvent) -> list[tuple[str, dict[str, Any]]]:
    """The webhook events (type, data) one audit event makes; most make none."""
    found: list[tuple[str, dict[str, Any]]] = []
    req = event.request
    request_data: dict[str, Any] = {"reference": req.reference, "state": req.state} if req else {}
    transition = bool(req and event.to_state and event.to_state != event.from_state)
    if transition:
        found.append(
            (
                "request.state_changed",
                {
                    **request_data,
                    "state": event.to_state,
                    "from_state": event.from_state or None,
                    "action": event.action,
                },
            )
        )
    mapped = AUDIT_ACTION_EVENTS.get(event.action)
    if mapped == "request.checks_completed" and req:
        found.append((mapped, request_data))
    elif mapped == "support.updated" and req:
        match = SUPPORT_REFERENCE.match(event.message)
        support = SupportRequest.objects.filter(reference=match[1]).first() if match else None
        if support is not None:
            found.append(
                (
                    mapped,
                    {
                        **request_data,
                        "support_reference": support.reference,
                        "support_status": support.status,
                    },
                )
            )
    elif mapped == "allowlist.changed":
        found.append((mapped, {"reason": event.action, "reference": request_data.get("reference")}))
    # Entering or leaving federated changes the list; so does ending an agreement from
    # suspended (revoked, offboarded): an end dated ahead is brought forward to today.
    if req and transition and ALLOW_LIST_STATES & {event.from_state, event.to_state}:
        found.append(("allowlist.changed", {"reason": event.action, "reference": req.reference}))
    return found


def subscribed_endpoints(event_type: str) -> list[WebhookEndpoint]:
    """Active endpoints of live clients subscribed to event_type whose client may read it.

    Filtered here rather than in SQL: JSON containment is not on SQLite (the local run), and
    there are a handful of endpoints."""
    scope = EVENT_TYPES[event_type]
    endpoints = WebhookEndpoint.objects.filter(active=True).select_related("client")
    return [
        endpoint
        for endpoint in endpoints
        if event_type in endpoint.events and endpoint.client.has_scope(scope)
    ]


def queue_webhook_event(
    event_type: str, data: dict[str, Any], *, occurred_at: Any
) -> list[WebhookDelivery]:
    """A delivery per subscribed endpoint, sent after the commit; call inside the change's
    transaction. The event's id is one for every endpoint, retry and replay."""
    endpoints = subscribed_endpoints(event_type)
    if not endpoints:
        return []
    event_id = uuid.uuid4()
    payload = {
        "id": str(event_id),
        "type": event_type,
        "created_at": occurred_at.isoformat(),
        "data": data,
    }
    deliveries = []
    for endpoint in endpoints:
        delivery = WebhookDelivery.objects.create(
            endpoint=endpoint,
            event_id=event_id,
            event_type=event_type,
            payload=payload,
            next_attempt_at=occurred_at,
        )
        enqueue_after_commit(DELIVER_TASK, delivery_id=delivery.pk)
        deliveries.append(delivery)
    return deliveries


def allow_list_day_event(*, day: date) -> list[WebhookDelivery]:
    """allowlist.changed for what takes effect on day, decided earlier (entries dated ahead);
    once a day, whatever the beat job's retries."""
    starting, ending = allow_list_changes_on(day)
    if not (starting or ending):
        return []
    already = WebhookDelivery.objects.filter(
        event_type="allowlist.changed",
        payload__data__reason="effective_today",
        payload__data__date=day.isoformat(),
    )
    if already.exists():
        return []
    data = {
        "reason": "effective_today",
        "date": day.isoformat(),
        "joining": len(starting),
        "leaving": len(ending),
    }
    return queue_webhook_event("allowlist.changed", data, occurred_at=timezone.now())


def on_audit_event(event: AuditEvent) -> None:
    """The audit listener: queue the webhook events this audit event makes."""
    for event_type, data in webhook_events_for(event):
        queue_webhook_event(event_type, data, occurred_at=event.created_at)


def register() -> None:
    """Called from WebhooksConfig.ready()."""
    on_audit(on_audit_event)
