"""Idempotency-Key on every POST: the same key and body get the first answer again; the same
key with another body is a 409.

The key is claimed by inserting its row in the transaction that does the work. A second POST
with the key waits on the unique index until the first commits (PostgreSQL), then finds the
answer; if the first failed, its claim rolled back with its work and the second does the work.
Only answers that committed are remembered: an error raised by the work leaves nothing behind,
so the client may correct the request and send it again with the same key.
"""

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response

from .models import IdempotentAnswer
from .problems import problem

HEADER = "Idempotency-Key"
MAX_KEY_LENGTH = 255
REPLAYED_HEADER = "Idempotent-Replayed"

# For a POST's extend_schema(parameters=[...]): the header as wrapper() accepts it (printable,
# no surrounding spaces, which are stripped; ASCII, as HTTP headers are in practice).
PARAMETER = OpenApiParameter(
    HEADER,
    {
        "type": "string",
        "minLength": 1,
        "maxLength": MAX_KEY_LENGTH,
        "pattern": r"^[!-~]([ -~]*[!-~])?$",
    },
    OpenApiParameter.HEADER,
    required=True,
    description="A new key (a UUID is usual) per request; the same one when retrying it. A "
    f"retry gets the first answer again, with {REPLAYED_HEADER}: true.",
)


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _replay(stored: IdempotentAnswer, fingerprint: str) -> Response:
    if stored.fingerprint != fingerprint:
        return problem(
            409,
            f"This {HEADER} was used with a different request. Use a new key for a new request.",
            kind="idempotency-key-reused",
        )
    headers = {REPLAYED_HEADER: "true"}
    if stored.location:
        headers["Location"] = stored.location
    return Response(stored.body, status=stored.status_code, headers=headers)


def idempotent(handler):
    """Decorate a view's post(): run it once per (client, Idempotency-Key)."""

    @wraps(handler)
    def wrapper(view, request, *args, **kwargs):
        key = request.headers.get(HEADER, "").strip()
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            return problem(
                400,
                f"Send an {HEADER} header (up to {MAX_KEY_LENGTH} printable characters, a "
                "UUID is usual) with every POST, and the same one when you retry.",
                kind="idempotency-key-missing",
            )
        client = request.auth.client
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            try:
                with transaction.atomic():
                    claim = IdempotentAnswer.objects.create(
                        client=client, key=key, fingerprint=fingerprint, status_code=0
                    )
            except IntegrityError:
                # Held by a POST that has committed (we waited for it): answer as it did.
                return _replay(IdempotentAnswer.objects.get(client=client, key=key), fingerprint)
            response = handler(view, request, *args, **kwargs)
            claim.status_code = response.status_code
            claim.body = response.data
            claim.location = response.get("Location", "")
            claim.save(update_fields=["status_code", "body", "location"])
        return response

    return wrapper
