"""Signing the FPA in the portal: the signatory named on the request, signed in by emailed
link, signs the exact PDF issued; the signed copy is sealed by the portal (agreements.sealing).

The slow work (the certificate pages, the seal) happens before the request's row lock; under
the lock everything it relied on is checked again before the request moves to signed.
"""

import hashlib
import hmac
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.models import ContactRole, FederationRequest, State
from requests_app.selectors import contact_roles
from requests_app.services.lifecycle import queue_request_email
from requests_app.services.locking import apply_transition, lock_request

from ..models import Agreement, SignatureAct
from ..sealing import assemble, certificate_pages, seal, sealing_configured
from ..selectors import (
    agreement_lapsed,
    amendment_out_for_signature,
    current_agreement,
    lapsed_refusal,
)
from .amendments import amendment_refusal, amendment_signed
from .files import stored_file

# What the signatory ticks: each is recorded with the signature, in these words.
ATTESTATIONS = {
    "read": "I have read the Federation Partnering Agreement as issued, in full.",
    "authorised": "I am authorised to sign it on behalf of my organisation.",
    "dcb1596": "My organisation meets the DCB1596 secure email standard, and will send the "
    "evidence for it.",
}
IDENTIFIED_BY = "a single-use sign-in link emailed to the signatory's address"
SIGNING_UNAVAILABLE = (
    "Signing in the portal is not available yet. Sign the agreement and email it to the NHSmail "
    "Feedback team at {email}."
)


class IssuedFileChanged(ActionRefused):
    """The stored issued FPA no longer matches its fingerprint: storage was tampered with."""


@dataclass(frozen=True)
class Signer:
    """Who signs, as they typed it, and where from."""

    email: str
    name: str
    job_title: str
    ip_address: str | None
    user_agent: str


def agreement_to_sign(req: FederationRequest) -> Agreement | None:
    """The agreement waiting for req's signature: the first while the request is out for
    signature; once federated, an amended agreement adding a domain."""
    if req.state == State.FEDERATED:
        return amendment_out_for_signature(req)
    return current_agreement(req)


def signing_refusal(req: FederationRequest, *, email: str) -> str:
    """Why email cannot sign req's agreement now, or "" when they can (the sign page asks
    before showing the form; the service asks again under the lock)."""
    if ContactRole.SIGNATORY not in contact_roles(req, email):
        return "Only the signatory named on the request can sign its agreement."
    if req.state == State.FEDERATED:
        refusal = amendment_refusal(req, amendment_out_for_signature(req))
        if refusal:
            return refusal
        if not sealing_configured():
            return SIGNING_UNAVAILABLE.format(email=settings.FEEDBACK_TEAM_EMAIL)
        return ""
    agreement = current_agreement(req)
    if (
        req.state != State.FPA_SENT
        or agreement is None
        or not agreement.sent_at
        or agreement.expired_at
    ):
        return (
            f"Request {req.reference} is “{req.get_state_display()}”: there is no agreement "
            "waiting for a signature."
        )
    # Judged now, not only by the daily job that later marks it expired.
    if agreement_lapsed(req):
        return lapsed_refusal(req)
    if not sealing_configured():
        return SIGNING_UNAVAILABLE.format(email=settings.FEEDBACK_TEAM_EMAIL)
    return ""


def agreement_sign(
    *,
    request_id: int,
    actor_email: str,
    name: str,
    job_title: str,
    director_confirmed: bool,
    attestations: list[str],
    shown_sha256: str,
    ip_address: str | None,
    user_agent: str,
) -> Agreement:
    """The signatory signs the issued FPA; the request moves to signed only when the PDF they
    were shown is the one issued (its SHA-256)."""
    if not sealing_configured():
        raise ActionRefused(SIGNING_UNAVAILABLE.format(email=settings.FEEDBACK_TEAM_EMAIL))
    if not director_confirmed:
        raise ActionRefused("The agreement must be signed by someone in a Director-level role.")
    if set(ATTESTATIONS) - set(attestations):
        raise ActionRefused("Confirm each statement before signing.")
    if not name.strip() or not job_title.strip():
        raise ActionRefused("Type your full name and job title.")
    signer = Signer(
        email=actor_email,
        name=name.strip(),
        job_title=job_title.strip(),
        ip_address=ip_address,
        user_agent=user_agent[:500],
    )
    try:
        return _sign(request_id=request_id, signer=signer, shown_sha256=shown_sha256)
    except IssuedFileChanged:
        # Outside the refused transaction, so the alarm stays in the audit log.
        audit(
            None,
            None,
            "agreement.issued_file_changed",
            message=f"Request id {request_id}: the stored FPA does not match its SHA-256.",
            actor_label=actor_email,
        )
        raise


def _sign(*, request_id: int, signer: Signer, shown_sha256: str) -> Agreement:
    req = FederationRequest.objects.filter(pk=request_id).first()
    if req is None:
        raise ActionRefused("That request does not exist.")
    agreement = _agreement_to_sign(req, signer=signer, shown_sha256=shown_sha256)
    # Slow work first, with no lock held: the signature act as it will be recorded, the
    # certificate pages (WeasyPrint) and the seal (pyHanko).
    act = SignatureAct(
        agreement=agreement,
        signer_email=signer.email,
        signer_name=signer.name,
        signer_job_title=signer.job_title,
        director_confirmed=True,
        attestations=list(ATTESTATIONS.values()),
        identified_by=IDENTIFIED_BY,
        document_sha256=agreement.pdf_sha256,
        ip_address=signer.ip_address,
        user_agent=signer.user_agent,
    )
    sealed = seal(
        assemble(_issued_bytes(agreement), certificate_pages(agreement, act)),
        reason=f"Signed by {act.signer_name}, {act.signer_job_title}, for {req.reference}",
    )
    with transaction.atomic():
        req = lock_request(request_id)
        refusal = signing_refusal(req, email=signer.email)
        if refusal:
            raise ActionRefused(refusal)
        locked = agreement_to_sign(req)
        # What was sealed is the agreement checked above: it must still be the one issued.
        if locked is None or (locked.pk, locked.pdf_sha256) != (agreement.pk, agreement.pdf_sha256):
            raise ActionRefused(
                "The agreement was issued again while you were signing. Reload the page, read "
                "the agreement again, then sign."
            )
        act.save()
        _record_sealed_copy(req, agreement=locked, act=act, sealed=sealed)
    return locked


def _agreement_to_sign(req: FederationRequest, *, signer: Signer, shown_sha256: str) -> Agreement:
    """The agreement signer may sign now and was shown, or ActionRefused (a mismatch audited).

    Called before the row lock, outside any transaction, so the audit row of a mismatch stays.
    """
    refusal = signing_refusal(req, email=signer.email)
    if refusal:
        raise ActionRefused(refusal)
    agreement = agreement_to_sign(req)
    assert agreement is not None  # signing_refusal says so otherwise
    if not hmac.compare_digest(shown_sha256.strip().lower(), agreement.pdf_sha256):
        audit(
            req,
            None,
            "agreement.sign_refused",
            message=f"Shown {shown_sha256[:64]!r}, issued {agreement.pdf_sha256}.",
            actor_label=signer.email,
        )
        raise ActionRefused(
            "The agreement you were shown is not the one issued (its fingerprint differs). "
            "Reload the page, read the agreement again, then sign."
        )
    return agreement


def _issued_bytes(agreement: Agreement) -> bytes:
    with agreement.pdf.open("rb") as handle:
        issued: bytes = handle.read()
    if hashlib.sha256(issued).hexdigest() != agreement.pdf_sha256:
        raise IssuedFileChanged(
            "The issued agreement cannot be signed: its file does not match its fingerprint. "
            "The NHSmail Feedback team will issue it again."
        )
    return issued


def _record_sealed_copy(
    req: FederationRequest, *, agreement: Agreement, act: SignatureAct, sealed: bytes
) -> None:
    """Store the sealed copy and move the request to signed (under the row lock)."""
    with stored_file(agreement.signed_copy, "signed.pdf", sealed):
        agreement.signed_copy_sha256 = hashlib.sha256(sealed).hexdigest()
        agreement.signatory_name = act.signer_name
        agreement.signatory_job_title = act.signer_job_title
        agreement.signatory_is_director = True
        agreement.signed_on = timezone.localdate()
        agreement.received_at = timezone.now()
        agreement.save()
        signed = (
            f"Signed in the portal by {act.signer_name}, {act.signer_job_title}. "
            f"Issued FPA SHA-256 {act.document_sha256}; sealed copy SHA-256 "
            f"{agreement.signed_copy_sha256}."
        )
        if agreement.domain_addition_id is not None:
            # An amended agreement: the request stays federated, the domain joins.
            amendment_signed(
                req, agreement, actor=None, actor_label=act.signer_email, message=signed
            )
            return
        apply_transition(
            req,
            actor=None,
            action="sign",
            audit_action="request.signed",
            actor_label=act.signer_email,
            message=signed,
        )
        queue_request_email(req, "signed")
