"""Emails about the agreement and evidence to the requester, SPOC and signatory, queued in the
caller's transaction (agreements.emails composes them with what they need to say)."""

from typing import Any

from requests_app.models import Contact, FederationRequest, State
from requests_app.outbox import enqueue_after_commit
from requests_app.selectors import current_signatory

from ..sealing import sealing_configured

REQUEST_EMAIL_TASK = "agreements.tasks.agreement_request_email"
INVITATION_TASK = "agreements.tasks.signatory_invitation_email"


def queue_agreement_email(req: FederationRequest, kind: str, *, key: str = "") -> None:
    """Queue the email of kind (evidence_returned, fpa_reminder, evidence_reminder,
    agreement_expired) after commit; key tells apart repeatable kinds."""
    enqueue_after_commit(REQUEST_EMAIL_TASK, request_id=req.pk, kind=kind, key=key or kind)


def invite_signatory(req: FederationRequest) -> None:
    """Once the FPA is out for signature, invite the request's signatory (if named) to sign in
    and sign; each signatory once (the email's key names the contact)."""
    if req.state != State.FPA_SENT or not sealing_configured():
        return  # named before the FPA is sent: invited when it is; no seal: no portal signing
    signatory = current_signatory(req)
    if signatory is not None:
        enqueue_after_commit(INVITATION_TASK, request_id=req.pk, contact_id=signatory.pk)


def on_signatory_named(
    sender: type, *, req: FederationRequest, contact: Contact, **kwargs: Any
) -> None:
    """requests_app.signals.signatory_named, connected in AgreementsConfig.ready."""
    invite_signatory(req)
