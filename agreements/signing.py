"""Signing the FPA in the portal: the signatory named on the request, signed in by emailed
link, signs the exact PDF issued; the signed copy is sealed by the portal (agreements.sealing).
"""

import hashlib
import hmac

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from requests_app.audit import audit
from requests_app.errors import ActionRefused
from requests_app.models import ContactRole, State
from requests_app.services import lock_request, queue_request_email

from .models import Agreement, SignatureAct
from .sealing import assemble, certificate_pages, seal, sealing_configured
from .services import stored_file

# What the signatory ticks: each is recorded with the signature, in these words.
ATTESTATIONS = {
    "read": "I have read the Federation Partnering Agreement as issued, in full.",
    "authorised": "I am authorised to sign it on behalf of my organisation.",
    "dcb1596": "My organisation meets the DCB1596 secure email standard, and will send the "
    "evidence for it.",
}
IDENTIFIED_BY = "a single-use sign-in link emailed to the signatory's address"


class IssuedFileChanged(ActionRefused):
    """The stored issued FPA no longer matches its fingerprint: storage was tampered with."""


def signing_available() -> bool:
    return sealing_configured()


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
    if not signing_available():
        raise ActionRefused(
            "Signing in the portal is not available yet. Sign the agreement and email it to "
            f"the NHSmail Feedback team at {settings.FEEDBACK_TEAM_EMAIL}."
        )
    if not director_confirmed:
        raise ActionRefused("The agreement must be signed by someone in a Director-level role.")
    if set(ATTESTATIONS) - set(attestations):
        raise ActionRefused("Confirm each statement before signing.")
    if not name.strip() or not job_title.strip():
        raise ActionRefused("Type your full name and job title.")
    try:
        return _sign(request_id, actor_email, name, job_title, shown_sha256, ip_address, user_agent)
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


def _sign(request_id, actor_email, name, job_title, shown_sha256, ip_address, user_agent):
    mismatch = None
    with transaction.atomic():
        req = lock_request(request_id)
        signatory = req.contacts.filter(
            role=ContactRole.SIGNATORY, email__iexact=actor_email, removed_at__isnull=True
        ).first()
        if signatory is None:
            raise ActionRefused("Only the signatory named on the request can sign its agreement.")
        agreement = req.current_agreement
        if req.state != State.FPA_SENT or agreement is None or agreement.expired_at:
            raise ActionRefused(
                f"Request {req.reference} is “{req.get_state_display()}”: there is no agreement "
                "waiting for a signature."
            )
        if hmac.compare_digest(shown_sha256.strip().lower(), agreement.pdf_sha256):
            _seal_and_sign(req, agreement, actor_email, name, job_title, ip_address, user_agent)
        else:
            mismatch = (req, agreement.pdf_sha256)
    if mismatch:
        # Recorded outside the refused transaction, so the attempt stays in the audit log.
        mismatched_req, issued_sha = mismatch
        audit(
            mismatched_req,
            None,
            "agreement.sign_refused",
            message=f"Shown {shown_sha256[:64]!r}, issued {issued_sha}.",
            actor_label=actor_email,
        )
        raise ActionRefused(
            "The agreement you were shown is not the one issued (its fingerprint differs). "
            "Reload the page, read the agreement again, then sign."
        )
    return agreement


def _seal_and_sign(req, agreement, actor_email, name, job_title, ip_address, user_agent) -> None:
    """Record the act, seal the signed copy and move the request on (inside the row lock)."""
    with agreement.pdf.open("rb") as handle:
        issued = handle.read()
    if hashlib.sha256(issued).hexdigest() != agreement.pdf_sha256:
        raise IssuedFileChanged(
            "The issued agreement cannot be signed: its file does not match its fingerprint. "
            "The NHSmail Feedback team will issue it again."
        )
    act = SignatureAct.objects.create(
        agreement=agreement,
        signer_email=actor_email,
        signer_name=name.strip(),
        signer_job_title=job_title.strip(),
        director_confirmed=True,
        attestations=[ATTESTATIONS[key] for key in ATTESTATIONS],
        identified_by=IDENTIFIED_BY,
        document_sha256=agreement.pdf_sha256,
        ip_address=ip_address,
        user_agent=user_agent[:500],
    )
    sealed = seal(
        assemble(issued, certificate_pages(agreement, act)),
        reason=f"Signed by {act.signer_name}, {act.signer_job_title}, for {req.reference}",
    )
    with stored_file(agreement.signed_copy, "signed.pdf", sealed):
        agreement.signed_copy_sha256 = hashlib.sha256(sealed).hexdigest()
        agreement.signatory_name = act.signer_name
        agreement.signatory_job_title = act.signer_job_title
        agreement.signatory_is_director = True
        agreement.signed_on = timezone.localdate()
        agreement.received_at = timezone.now()
        agreement.save()
        req.record_signature()
        req.save()
        audit(
            req,
            None,
            "request.signed",
            message=f"Signed in the portal by {act.signer_name}, {act.signer_job_title}. "
            f"Issued FPA SHA-256 {act.document_sha256}; sealed copy SHA-256 "
            f"{agreement.signed_copy_sha256}.",
            from_state=State.FPA_SENT,
            to_state=State.SIGNED,
            actor_label=actor_email,
        )
        queue_request_email(req, "signed")
