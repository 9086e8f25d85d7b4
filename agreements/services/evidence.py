"""DCB1596 evidence: contacts upload it on the portal (staff may add what arrived otherwise),
staff verify each item or return it with a reason, then mark the request's evidence verified."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.models import FederationRequest, State
from requests_app.services.contacts import lock_request_for_contact
from requests_app.services.locking import apply_transition, lock_request

from ..models import (
    EVIDENCE_OPEN_STATES,
    OPEN_REATTESTATION_STATUSES,
    REATTESTATION_ACTIVE_STATES,
    EvidenceCriterion,
    EvidenceItem,
    EvidenceStatus,
)
from ..selectors import agreement_lapsed, lapsed_refusal
from ..uploads import PDF_ONLY, PDF_OR_IMAGE, read_upload
from .files import stored_file
from .notices import queue_agreement_email

if TYPE_CHECKING:
    from django.contrib.auth.models import User
    from django.core.files.uploadedfile import UploadedFile


def evidence_add(
    *, request_id: int, actor: User, criterion_id: int, upload: UploadedFile, notes: str = ""
) -> EvidenceItem:
    """Staff store one piece of DCB1596 evidence the organisation sent against a criterion."""
    ensure_may(actor, "upload_evidence")
    return _store_evidence(
        request_id=request_id, criterion_id=criterion_id, upload=upload, actor=actor, notes=notes
    )


def evidence_submit(
    *, request_id: int, actor_email: str, criterion_id: int, upload: UploadedFile
) -> EvidenceItem:
    """A contact named on the request uploads evidence for a criterion through the portal."""
    return _store_evidence(
        request_id=request_id, criterion_id=criterion_id, upload=upload, actor_email=actor_email
    )


@dataclass(frozen=True)
class CheckedEvidence:
    """An evidence upload read and judged (before any row lock: parsing may take seconds)."""

    criterion: EvidenceCriterion
    filename: str
    content: bytes
    digest: str
    kind: str


def evidence_check_upload(*, criterion_id: int, upload: UploadedFile) -> CheckedEvidence:
    """Read and judge an upload for a criterion: PDF, or PNG/JPEG where it takes screenshots."""
    criterion = EvidenceCriterion.objects.filter(pk=criterion_id).first()
    if criterion is None:
        raise ActionRefused("Choose one of the DCB1596 criteria for this evidence.")
    allowed = PDF_OR_IMAGE if criterion.accepts_images else PDF_ONLY
    content, digest, inspection = read_upload(upload, what="evidence", allowed=allowed)
    return CheckedEvidence(
        criterion=criterion,
        filename=getattr(upload, "name", "evidence")[:255],
        content=content,
        digest=digest,
        kind=inspection.kind,
    )


def evidence_record(
    req: FederationRequest,
    checked: CheckedEvidence,
    *,
    actor: User | None = None,
    actor_email: str = "",
    notes: str = "",
) -> EvidenceItem:
    """Store checked evidence on req, awaiting review, and audit it. Call under the request's
    lock once the caller has judged that req takes evidence now."""
    criterion = checked.criterion
    item = EvidenceItem(
        request=req,
        criterion=criterion,
        original_filename=checked.filename,
        sha256=checked.digest,
        uploaded_by=actor,
        uploaded_by_email=actor_email,
        notes=notes,
    )
    suffix = {"pdf": "pdf", "png": "png", "jpeg": "jpg"}[checked.kind]
    with stored_file(item.file, f"evidence.{suffix}", checked.content):
        item.save()
        audit(
            req,
            actor,
            "evidence.uploaded",
            message=f"{criterion.title}: {item.original_filename} (SHA-256 {checked.digest}).",
            actor_label=actor_email,
        )
    return item


def _store_evidence(
    *,
    request_id: int,
    criterion_id: int,
    upload: UploadedFile,
    actor: User | None = None,
    actor_email: str = "",
    notes: str = "",
) -> EvidenceItem:
    checked = evidence_check_upload(criterion_id=criterion_id, upload=upload)
    with transaction.atomic():
        if actor_email:
            req, _ = lock_request_for_contact(request_id, actor_email=actor_email)
        else:
            req = lock_request(request_id)
        if req.state not in EVIDENCE_OPEN_STATES:
            raise ActionRefused(
                f"Evidence is taken once the agreement is sent and until it is verified; "
                f"request {req.reference} is “{req.get_state_display()}”."
            )
        if agreement_lapsed(req):  # judged now, before the daily job marks it expired
            raise ActionRefused(
                lapsed_refusal(req) + " Evidence is taken again once it has been sent."
            )
        return evidence_record(req, checked, actor=actor, actor_email=actor_email, notes=notes)


def evidence_under_review(req: FederationRequest, item: EvidenceItem) -> bool:
    """Whether staff review item now: once the agreement is signed, or, once federated, when it
    is new evidence of an open re-attestation."""
    if req.state == State.SIGNED:
        return True
    return (
        req.state in REATTESTATION_ACTIVE_STATES
        and item.reattestation_answers.filter(
            reattestation__status__in=OPEN_REATTESTATION_STATUSES
        ).exists()
    )


def _lock_item_for_review(item_id: int, *, actor: User) -> tuple[FederationRequest, EvidenceItem]:
    ensure_may(actor, "verify_evidence")
    item = EvidenceItem.objects.filter(pk=item_id).first()
    if item is None:
        raise ActionRefused("That evidence does not exist.")
    req = lock_request(item.request_id)
    item = EvidenceItem.objects.select_for_update().select_related("criterion").get(pk=item_id)
    if not evidence_under_review(req, item):
        raise ActionRefused(
            f"Evidence is reviewed once the agreement is signed, or with a re-attestation; "
            f"request {req.reference} is “{req.get_state_display()}”."
        )
    if item.status != EvidenceStatus.PENDING:
        raise ActionRefused(
            f"This evidence for “{item.criterion.title}” is already "
            f"{item.get_status_display().lower()}."
        )
    return req, item


def evidence_verify(*, item_id: int, actor: User, notes: str = "") -> EvidenceItem:
    """Accept one evidence item."""
    with transaction.atomic():
        req, item = _lock_item_for_review(item_id, actor=actor)
        item.status = EvidenceStatus.VERIFIED
        item.verified_by = actor
        item.verified_at = timezone.now()
        item.notes = notes or item.notes
        item.save()
        audit(req, actor, "evidence.verified", message=item.criterion.title)
    return item


def evidence_return(*, item_id: int, actor: User, reason: str) -> EvidenceItem:
    """Send one evidence item back for rework; the request stays signed."""
    if not reason.strip():
        raise ActionRefused("Say what is wrong with the evidence; the organisation sees it.")
    with transaction.atomic():
        req, item = _lock_item_for_review(item_id, actor=actor)
        item.status = EvidenceStatus.RETURNED
        item.returned_reason = reason.strip()
        item.save()
        audit(req, actor, "evidence.returned", message=f"{item.criterion.title}: {reason}")
        queue_agreement_email(req, "evidence_returned", key=f"evidence_returned:{item.pk}")
    return item


def request_verify_evidence(*, request_id: int, actor: User) -> FederationRequest:
    """signed -> evidence_verified, when every required criterion has verified evidence."""
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(
            req,
            actor=actor,
            action="verify_evidence",
            audit_action="request.evidence_verified",
            verifier=actor,
        )
    return req
