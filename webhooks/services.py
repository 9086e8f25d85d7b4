"""Every write on webhooks: staff register endpoints and replay deliveries; the worker delivers.

Delivery (webhook_deliver) is claim, send, record, each step in its own short transaction, as
requests_app.emails.send_once does: no row lock is held over the network call. The claim takes
the row with select_for_update(skip_locked) and stamps it with this run's token, so two runs (a
redelivered job beside its retry) never POST the same delivery at once, and a delivered or
failed row is never sent again. The one window left is a worker killed, or the database away,
between the receiver's 2xx and the record: the claim lapses and the event goes again with the
same Webhook-Id. At least once, as every webhook scheme is: receivers deduplicate on the id.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import requests
from django.conf import settings
from django.db import InterfaceError, OperationalError, close_old_connections, transaction
from django.utils import timezone

from api.models import ApiClient
from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.outbox import enqueue_after_commit

from . import signing
from .addresses import pinned_session, url_refusal, webhook_target
from .events import DELIVER_TASK, EVENT_TYPES
from .models import DeliveryStatus, WebhookAttempt, WebhookDelivery, WebhookEndpoint

if TYPE_CHECKING:
    from django.contrib.auth.models import User

logger = logging.getLogger(__name__)

# A claim older than the task's hard time limit (tasks.py: 45 s) belongs to a dead run.
CLAIM_SECONDS = 60
# Recording an attempt retries the database this long (within the task's soft time limit, 30 s,
# after at most 13 s of network): a receiver's 2xx is not forgotten for a database blip.
RECORD_SECONDS = 10


def _clean_events(events: list[str]) -> list[str]:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ActionRefused(f"Unknown event: {', '.join(unknown)}.")
    if not events:
        raise ActionRefused("Choose at least one event.")
    return [name for name in EVENT_TYPES if name in events]


def webhook_endpoint_create(
    *, client_id: int, url: str, events: list[str], actor: User
) -> tuple[WebhookEndpoint, str]:
    """Register a receiver URL for an API client; returns it with its signing secret, which
    the caller shows once."""
    ensure_may(actor, "manage_webhooks")
    events = _clean_events(events)
    url = url.strip()
    refusal = url_refusal(url)
    if refusal:
        raise ActionRefused(refusal)
    with transaction.atomic():
        client = ApiClient.objects.select_for_update().get(pk=client_id)
        if client.revoked_at:
            raise ActionRefused(f"API client {client.name} was revoked.")
        secret = signing.new_secret()
        endpoint = WebhookEndpoint.objects.create(
            client=client, url=url, secret=secret, events=events, created_by=actor
        )
        audit(
            None,
            actor,
            "webhook.endpoint_created",
            message=f"API client {client.name}: {url} for {', '.join(events)}.",
        )
    return endpoint, secret


def webhook_endpoint_update(
    *, endpoint_id: int, events: list[str], active: bool, actor: User
) -> WebhookEndpoint:
    """Change the events an endpoint is sent, or switch it off (its queued deliveries fail)."""
    ensure_may(actor, "manage_webhooks")
    events = _clean_events(events)
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
        if endpoint.events == events and endpoint.active == active:
            return endpoint
        changes = f"events {', '.join(events)}; {'active' if active else 'switched off'}"
        endpoint.events, endpoint.active = events, active
        endpoint.save(update_fields=["events", "active"])
        audit(None, actor, "webhook.endpoint_changed", message=f"{endpoint.url}: {changes}.")
    return endpoint


def webhook_delivery_replay(*, delivery_id: int, actor: User) -> WebhookDelivery:
    """Send a delivery's event again, as a new delivery with the same event id and payload.

    A new row, not the old one reset: the first delivery's attempts stay as they were, and a
    delivered row is never sent again by anything (the invariant webhook_deliver keeps)."""
    ensure_may(actor, "manage_webhooks")
    with transaction.atomic():
        original = WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)
        if original.status == DeliveryStatus.PENDING:
            raise ActionRefused(
                f"Delivery {original.pk} is still being tried (attempt {original.attempts} of "
                f"{settings.WEBHOOK_MAX_ATTEMPTS}); replay it once it is delivered or has failed."
            )
        if not original.endpoint.active:
            raise ActionRefused(f"{original.endpoint.url} is switched off; switch it on first.")
        replay = WebhookDelivery.objects.create(
            endpoint=original.endpoint,
            event_id=original.event_id,
            event_type=original.event_type,
            payload=original.payload,
            next_attempt_at=timezone.now(),
        )
        audit(
            None,
            actor,
            "webhook.replayed",
            message=f"Event {original.event_id} ({original.event_type}) to "
            f"{original.endpoint.url} again: delivery {original.pk} -> {replay.pk}.",
        )
        enqueue_after_commit(DELIVER_TASK, delivery_id=replay.pk)
    return replay


class DeliveryBusy(Exception):
    """Another run holds the delivery, or its next attempt is not due: look again later."""

    def __init__(self, message: str, *, retry_in: float):
        super().__init__(message)
        self.retry_in = retry_in


@dataclass(frozen=True)
class Outcome:
    status: str  # the delivery's status after this run
    retry_in: float | None = None  # seconds until the next attempt, when there is one


@dataclass(frozen=True)
class _Claimed:
    url: str
    secret: str
    event_id: str
    body: bytes


def backoff_seconds(attempts: int) -> float:
    """The wait after the attempts-th failed attempt: WEBHOOK_RETRY_BACKOFF doubling, capped
    at TASK_RETRY_BACKOFF_MAX (under the broker's visibility timeout: settings' timing)."""
    return float(
        min(settings.WEBHOOK_RETRY_BACKOFF * 2 ** (attempts - 1), settings.TASK_RETRY_BACKOFF_MAX)
    )


def webhook_deliver(*, delivery_id: int) -> Outcome:
    """Make one attempt at a pending delivery (never inside transaction.atomic)."""
    token = uuid.uuid4().hex
    claimed = _claim(delivery_id=delivery_id, token=token)
    if isinstance(claimed, Outcome):
        return claimed
    started_at = timezone.now()
    clock = time.monotonic()
    status_code, error = _post(claimed)
    duration_ms = round((time.monotonic() - clock) * 1000)
    deadline = time.monotonic() + RECORD_SECONDS
    pause = 0.5
    while True:
        try:
            return _record(
                delivery_id=delivery_id,
                token=token,
                started_at=started_at,
                duration_ms=duration_ms,
                status_code=status_code,
                error=error,
            )
        except (OperationalError, InterfaceError):
            if time.monotonic() + pause > deadline:
                raise  # the task retries; the claim lapses and the event goes again (same id)
            logger.warning("webhook delivery %s attempted; the database is away", delivery_id)
            close_old_connections()
            time.sleep(pause)
            pause = min(pause * 2, 4)


def _claim(*, delivery_id: int, token: str) -> _Claimed | Outcome:
    now = timezone.now()
    with transaction.atomic():
        row = (
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .select_related("endpoint__client")
            .filter(pk=delivery_id)
            .first()
        )
        if row is None:  # another run is claiming or recording it this moment
            raise DeliveryBusy(f"Delivery {delivery_id} is locked by another run.", retry_in=5)
        if row.status != DeliveryStatus.PENDING:
            return Outcome(status=row.status)  # delivered or failed: never sent again
        if (
            row.claim_token
            and row.claimed_at
            and row.claimed_at + timedelta(seconds=CLAIM_SECONDS) > now
        ):
            lapses_in = (row.claimed_at + timedelta(seconds=CLAIM_SECONDS) - now).total_seconds()
            raise DeliveryBusy(f"Delivery {delivery_id} is being sent.", retry_in=lapses_in + 1)
        # A duplicate job (redelivered while the retry waits) keeps to the schedule.
        if row.next_attempt_at and row.next_attempt_at > now + timedelta(seconds=1):
            due_in = (row.next_attempt_at - now).total_seconds()
            raise DeliveryBusy(f"Delivery {delivery_id} is not due yet.", retry_in=due_in)
        endpoint = row.endpoint
        if (
            row.attempts >= settings.WEBHOOK_MAX_ATTEMPTS
            or not endpoint.active
            or not endpoint.client.has_scope(EVENT_TYPES[row.event_type])
        ):
            # Spent (a run died after its last attempt), or the endpoint switched off, or its
            # client revoked or no longer allowed to read this event since it was queued (a
            # retry or a replay included): nothing more is sent.
            row.status = DeliveryStatus.FAILED
            row.claim_token = ""
            row.save(update_fields=["status", "claim_token"])
            return Outcome(status=row.status)
        row.attempts += 1
        row.claim_token, row.claimed_at = token, now
        row.save(update_fields=["attempts", "claim_token", "claimed_at"])
        return _Claimed(
            url=row.endpoint.url,
            secret=row.endpoint.secret,
            event_id=str(row.event_id),
            body=signing.body_of(row.payload),
        )


def _post(claimed: _Claimed) -> tuple[int | None, str]:
    """POST the event; (status code, "") or (None, why it was not sent or not answered)."""
    # Judged again, and resolved once: the POST connects to the address judged here.
    refusal, target = webhook_target(claimed.url)
    if target is None:
        return None, f"Not sent: {refusal}"
    timestamp = int(time.time())
    try:
        with pinned_session(target) as session:
            response = session.post(
                target.url,
                data=claimed.body,
                headers=signing.headers(
                    event_id=claimed.event_id,
                    secret=claimed.secret,
                    timestamp=timestamp,
                    body=claimed.body,
                ),
                timeout=(settings.WEBHOOK_CONNECT_TIMEOUT, settings.WEBHOOK_READ_TIMEOUT),
                allow_redirects=False,  # a redirect could lead inside the network (SSRF)
                stream=True,  # the answer's body is never read
            )
            response.close()
    except requests.RequestException as failure:
        return None, f"{type(failure).__name__}: {failure}"[:2000]
    return response.status_code, ""


def _record(
    *,
    delivery_id: int,
    token: str,
    started_at: datetime,
    duration_ms: int,
    status_code: int | None,
    error: str,
) -> Outcome:
    now = timezone.now()
    with transaction.atomic():
        row = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
        WebhookAttempt.objects.create(
            delivery=row,
            started_at=started_at,
            duration_ms=duration_ms,
            status_code=status_code,
            error=error,
        )
        if row.claim_token == token:
            row.claim_token = ""
        if row.status != DeliveryStatus.PENDING:
            row.save(update_fields=["claim_token"])
            return Outcome(status=row.status)
        if status_code is not None and 200 <= status_code < 300:
            row.status, row.delivered_at, row.next_attempt_at = DeliveryStatus.DELIVERED, now, None
        elif row.attempts >= settings.WEBHOOK_MAX_ATTEMPTS:
            row.status, row.next_attempt_at = DeliveryStatus.FAILED, None
            logger.warning("webhook delivery %s failed after %s attempts", row.pk, row.attempts)
        else:
            wait = backoff_seconds(row.attempts)
            row.next_attempt_at = now + timedelta(seconds=wait)
            row.save(update_fields=["claim_token", "next_attempt_at"])
            return Outcome(status=row.status, retry_in=wait)
        row.save(update_fields=["claim_token", "status", "delivered_at", "next_attempt_at"])
        return Outcome(status=row.status)


def webhook_deliveries_resume(*, overdue_seconds: int, limit: int = 500) -> int:
    """Queue again the pending deliveries whose next attempt is overdue by overdue_seconds and
    that no run holds: their job was lost (a retry published while Redis was away, a task that
    gave up on the database). Returns how many were queued; a duplicate job is harmless (the
    claim sends each attempt once, and not before it is due)."""
    now = timezone.now()
    overdue = WebhookDelivery.objects.filter(
        status=DeliveryStatus.PENDING,
        next_attempt_at__lte=now - timedelta(seconds=overdue_seconds),
    ).exclude(claimed_at__gt=now - timedelta(seconds=CLAIM_SECONDS), claim_token__gt="")
    ids = list(overdue.order_by("next_attempt_at").values_list("pk", flat=True)[:limit])
    with transaction.atomic():
        for delivery_id in ids:
            enqueue_after_commit(DELIVER_TASK, delivery_id=delivery_id)
    if ids:
        logger.warning("webhook deliveries resumed after their job was lost: %s", ids)
    return len(ids)
