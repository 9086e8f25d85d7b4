"""Emails about the agreement and evidence to the requester, SPOC and signatory, queued in the
caller's transaction (agreements.emails composes them with what they need to say)."""

from requests_app.models import FederationRequest
from requests_app.outbox import enqueue_after_commit

REQUEST_EMAIL_TASK = "agreements.tasks.agreement_request_email"


def queue_agreement_email(req: FederationRequest, kind: str, *, key: str = "") -> None:
    """Queue the email of kind (evidence_returned, fpa_reminder, evidence_reminder,
    agreement_expired) after commit; key tells apart repeatable kinds."""
    enqueue_after_commit(REQUEST_EMAIL_TASK, request_id=req.pk, kind=kind, key=key or kind)
