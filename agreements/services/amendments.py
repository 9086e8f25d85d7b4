"""The amended agreement that adds a domain to a federated request: staff approve the domain
the SPOC asked for (requests_app.services.domain_additions), the worker renders an FPA listing
every domain, it is sent the same way as the first, and once it is signed (in the portal, or a
copy staff record) the domain joins the allow list. The request stays federated throughout.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.models import AdditionState, DomainAddition, FederationRequest, State
from requests_app.outbox import enqueue_after_commit
from requests_app.services.domain_additions import (
    addition_checks_refusal,
    addition_complete,
    apply_addition_transition,
    lock_addition,
)

from ..models import Agreement
from ..sealing import describe_signatures
from ..uploads import read_pdf_upload
from .files import stored_file
from .signatures import signed_copy_received

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile

RENDER_TASK = "agreements.tasks.agreement_render"
AMENDMENT_EMAIL_TASK = "agreements.tasks.amendment_email"


def domain_addition_approve(
    *, addition_id: int, actor: User, notes: str, override_reason: str = ""
) -> Agreement:
    """The Feedback team approves an asked-for domain on its checks: an amended agreement
    listing every domain is rendered and sent for signature."""
    ensure_may(actor, "approve_domain_addition")
    notes = notes.strip()
    if not notes:
        raise ActionRefused("Write the review notes: what was checked and what was found.")
    with transaction.atomic():
        req, addition = lock_addition(addition_id)
        if addition.state == AdditionState.REQUESTED:  # otherwise the door's own sentence
            refusal = addition_checks_refusal(req, addition, override_reason=override_reason)
            if refusal:
                raise ActionRefused(refusal)
        message = notes
        if override_reason.strip():
            message += f"\nApproved despite its latest checks: {override_reason.strip()}"
        apply_addition_transition(
            req,
            addition,
            actor=actor,
            action="approve",
            audit_action="domain.addition_approved",
            message=f"{addition.domain.display_name}: {message}",
            decider=actor,
            notes=message,
        )
        agreement = Agreement.objects.create(
            request=req, requested_by=actor, domain_addition=addition
        )
        audit(
            req,
            actor,
            "agreement.requested",
            message=f"Template {agreement.template_version}, amended to add "
            f"{addition.domain.display_name}.",
        )
        enqueue_after_commit(RENDER_TASK, agreement_id=agreement.pk)
    return agreement


def amendment_send_if_due(req: FederationRequest, agreement: Agreement) -> None:
    """Under the request's row lock, once the amended agreement is rendered: send it, unless
    its addition was cancelled meanwhile or it was sent already."""
    addition = DomainAddition.objects.select_for_update().get(amended_agreement=agreement)
    if (
        agreement.sent_at is not None
        or addition.state != AdditionState.APPROVED
        or req.state != State.FEDERATED
    ):
        return
    now = timezone.now()
    agreement.sent_at = now
    agreement.save(update_fields=["sent_at"])
    addition.agreement_sent_at = now
    addition.save(update_fields=["agreement_sent_at"])
    audit(
        req,
        agreement.requested_by,
        "agreement.amendment_sent",
        message=f"FPA {agreement.template_version} adding {addition.domain.display_name}, "
        f"SHA-256 {agreement.pdf_sha256}.",
    )
    enqueue_after_commit(AMENDMENT_EMAIL_TASK, agreement_id=agreement.pk)


def amendment_refusal(req: FederationRequest, agreement: Agreement | None) -> str:
    """Why no amended agreement of req can be signed now, or "" (judged at this moment)."""
    if req.state != State.FEDERATED or agreement is None:
        return (
            f"Request {req.reference} is “{req.get_state_display()}”: there is no agreement "
            "waiting for a signature."
        )
    addition = agreement.domain_addition
    assert addition is not None  # an amendment
    if addition.agreement_lapsed():
        return (
            f"The amended agreement adding {addition.domain.display_name} has expired: it was "
            "not signed in time. Your SPOC can ask to add the domain again."
        )
    return ""


def amendment_signed(
    req: FederationRequest,
    agreement: Agreement,
    *,
    actor: User | None,
    actor_label: str = "",
    message: str,
) -> None:
    """Under the request's row lock, the amended agreement's signed copy saved: the audit of
    the signature, then the domain joins the agreement and the allow list."""
    addition = (
        DomainAddition.objects.select_for_update()
        .select_related("domain")
        .get(amended_agreement=agreement)
    )
    audit(req, actor, "agreement.amendment_signed", message=message, actor_label=actor_label)
    addition_complete(
        req,
        addition,
        actor=actor,
        actor_label=actor_label,
        message=f"The amended agreement was signed (SHA-256 {agreement.signed_copy_sha256}).",
    )


def amendment_record_signature(
    *,
    addition_id: int,
    actor: User,
    signed_copy: UploadedFile,
    signatory_name: str,
    signatory_job_title: str,
    signed_on: date,
    signatory_is_director: bool,
    matches_issued: bool = False,
) -> Agreement:
    """Staff record the amended agreement signed outside the portal: the domain then joins
    the allow list."""
    ensure_may(actor, "record_signature")
    if not matches_issued:
        raise ActionRefused(
            "Compare the signed copy with the amended agreement as issued, and confirm it is the "
            "same, before recording it."
        )
    if not signatory_is_director or not signatory_name.strip() or not signatory_job_title.strip():
        raise ActionRefused(
            "Give the signatory's name and job title, confirming they hold a Director-level "
            "role, before recording the signed agreement."
        )
    content, digest = read_pdf_upload(signed_copy, what="signed agreement")
    signature_check = describe_signatures(content)
    with transaction.atomic():
        req, addition = lock_addition(addition_id)
        agreement = Agreement.objects.select_for_update().filter(domain_addition=addition).first()
        if (
            addition.state != AdditionState.APPROVED
            or agreement is None
            or agreement.sent_at is None
        ):
            raise ActionRefused(
                f"Adding {addition.domain.display_name} is “"
                f"{addition.get_state_display().lower()}”: a signed copy is recorded only while "
                "its amended agreement is out for signature."
            )
        refusal = amendment_refusal(req, agreement)
        if refusal:
            raise ActionRefused(refusal)
        with stored_file(agreement.signed_copy, "signed.pdf", content):
            signed_copy_received(
                agreement,
                digest=digest,
                signatory_name=signatory_name,
                signatory_job_title=signatory_job_title,
                signatory_is_director=True,
                signed_on=signed_on,
                signature_check=signature_check,
            )
            amendment_signed(
                req,
                agreement,
                actor=actor,
                message=f"Signed by {agreement.signatory_name}, {agreement.signatory_job_title}, "
                f"on {signed_on:%d %B %Y}. Signed copy SHA-256 {digest}. Compared with the "
                f"issued amended agreement. {signature_check}",
            )
    return agreement
