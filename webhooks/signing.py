"""The signature on every webhook POST (documented for receivers in README's API section).

Headers:
    Webhook-Id: the event's UUID, the same on every retry and replay (deduplicate on it)
    Webhook-Timestamp: the attempt's time, whole seconds since 1970 (UTC)
    Webhook-Signature: v1=<hex HMAC-SHA256(secret, f"{timestamp}.{body}")>

body is the exact bytes of the POST body (UTF-8 JSON). A receiver recomputes the HMAC with the
endpoint's secret, compares in constant time, and refuses a timestamp more than a few minutes
old (a replayed capture). "v1=" names the scheme, so a later one can be sent beside it.
"""

import hashlib
import hmac
import json
import secrets
from typing import Any

SCHEME = "v1"


def new_secret() -> str:
    """A signing secret for a new endpoint: 256 bits, URL-safe text."""
    return "whsec_" + secrets.token_urlsafe(32)


def body_of(payload: dict[str, Any]) -> bytes:
    """The POST body: compact JSON, keys sorted, so a delivery's body is the same every time."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The Webhook-Signature header's value for body sent at timestamp."""
    message = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return f"{SCHEME}={digest}"


def headers(*, event_id: str, secret: str, timestamp: int, body: bytes) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "nhsmail-federation-portal-webhooks/1",
        "Webhook-Id": event_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": signature(secret, timestamp, body),
    }
