"""A copy signed outside the portal: staff record it, with who signed it, once they have
compared it with the agreement as issued; its PDF signatures are described (pyHanko, offline)."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.models import ContactRole, FederationRequest, State
from requests_app.services.contacts import ContactDetails, contact_replace
from requests_app.services.lifecycle import queue_request_email
from requests_app.services.locking import apply_transition, lock_request

from ..models import Agreement
from ..sealing import describe_signatures
from ..selectors import current_agreement
from ..uploads import read_pdf_upload
from .files import stored_file

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile


def request_record_signature(
    *,
    request_id: int,
    actor: User,
    signed_copy: UploadedFile,
    signatory_name: str,
    signatory_job_title: str,
    signed_on: date,
    signatory_is_director: bool,
    matches_issued: bool = False,
    signatory_email: str = "",
) -> FederationRequest:
    """fpa_sent -> signed: the returned, signed copy and who signed it (with an email address,
    the signatory becomes one of the request's contacts)."""
    ensure_may(actor, "record_signature")
    if not matches_issued:
        raise ActionRefused(
            "Compare the signed copy with the agreement as issued, and confirm it is the same, "
            "before marking it signed."
        )
    content, digest = read_pdf_upload(signed_copy, what="signed agreement")
    signature_check = describe_signatures(content)
    with transaction.atomic():
        req = lock_request(request_id)
        agreement = current_agreement(req)
        if agreement is None or req.state != State.FPA_SENT:
            raise ActionRefused(
                f"Request {req.reference} is “{req.get_state_display()}”; a signed copy is "
                "recorded only while the agreement is out for signature."
            )
        with stored_file(agreement.signed_copy, "signed.pdf", content):
            signed_copy_received(
                agreement,
                digest=digest,
                signatory_name=signatory_name,
                signatory_job_title=signatory_job_title,
                signatory_is_director=signatory_is_director,
                signed_on=signed_on,
                signature_check=signature_check,
            )
            apply_transition(
                req,
                actor=actor,
                action="record_signature",
                audit_action="request.signed",
                message=f"Signed by {agreement.signatory_name}, {agreement.signatory_job_title}"
                f", on {signed_on:%d %B %Y}. Signed copy SHA-256 {digest}. Compared with the "
                f"issued agreement. {signature_check}",
            )
            if signatory_email:
                _name_signatory(req, agreement=agreement, email=signatory_email, actor=actor)
            queue_request_email(req, "signed")
    return req


def signed_copy_received(
    agreement: Agreement,
    *,
    digest: str,
    signatory_name: str,
    signatory_job_title: str,
    signatory_is_director: bool,
    signed_on: date,
    signature_check: str,
) -> None:
    """Record on agreement (its signed copy just stored) who signed it, when, and what its PDF
    signatures say; the first agreement and an amendment alike."""
    agreement.signed_copy_sha256 = digest
    agreement.signatory_name = signatory_name.strip()
    agreement.signatory_job_title = signatory_job_title.strip()
    agreement.signatory_is_director = signatory_is_director
    agreement.signed_on = signed_on
    agreement.received_at = timezone.now()
    agreement.signature_check = signature_check
    agreement.save()


def _name_signatory(
    req: FederationRequest, *, agreement: Agreement, email: str, actor: User
) -> None:
    """The signatory, as the request's (one) signatory contact."""
    details = ContactDetails(
        name=agreement.signatory_name, job_title=agreement.signatory_job_title, email=email
    )
    contact_replace(req, role=ContactRole.SIGNATORY, details=details)
    audit(req, actor, "contact.added", message=f"Signatory {agreement.signatory_name} <{email}>.")
