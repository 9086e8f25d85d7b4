"""Writes about the agreement and its evidence; each may take a request transition."""

from contextlib import contextmanager

from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from requests_app.audit import audit
from requests_app.errors import ActionRefused
from requests_app.models import Contact, ContactRole, State
from requests_app.outbox import enqueue_after_commit
from requests_app.permissions import ensure_may
from requests_app.services import apply_transition, lock_request, queue_request_email

from .models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus
from .pdf import render_agreement_pdf, sha256_hex
from .sealing import describe_signatures
from .uploads import PDF_ONLY, PDF_OR_IMAGE, read_pdf_upload, read_upload

RENDER_TASK = "agreements.tasks.agreement_render"
EMAIL_TASK = "agreements.tasks.agreement_email"


@contextmanager
def stored_file(field_file, name: str, content: bytes):
    """Store content in field_file for a transaction; remove it again if the block fails.

    The database rolls back by itself; the file on disk would otherwise stay, unreferenced.
    """
    field_file.save(name, ContentFile(content), save=False)
    try:
        yield field_file
    except BaseException:
        field_file.storage.delete(field_file.name)
        raise


def agreement_issue(*, request_id: int, actor) -> Agreement:
    """Staff send the FPA: the worker renders it, then request_send_agreement sends it."""
    with transaction.atomic():
        req = lock_request(request_id)
        ensure_may(actor, "send_agreement")
        if req.state != State.REVIEWED:
            raise ActionRefused(
                f"Request {req.reference} is “{req.get_state_display()}”; an agreement is sent "
                "only after the review."
            )
        if req.agreements.in_preparation().exists():
            raise ActionRefused(
                f"The agreement for {req.reference} is already being prepared. "
                "It is sent as soon as it is rendered."
            )
        agreement = Agreement.objects.create(request=req, requested_by=actor)
        audit(req, actor, "agreement.requested", message=f"Template {agreement.template_version}.")
        enqueue_after_commit(RENDER_TASK, agreement_id=agreement.pk)
    return agreement


def agreement_render(*, agreement_id: int) -> Agreement:
    """Render the PDF once, keep it with its SHA-256, then send it. Safe to run twice."""
    agreement = Agreement.objects.select_related("request__organisation").get(pk=agreement_id)
    if agreement.failure or agreement.sent_at:
        return agreement
    pdf_bytes = None if agreement.pdf else render_agreement_pdf(agreement)  # slow: no locks held
    with transaction.atomic():
        req = lock_request(agreement.request_id)
        agreement = Agreement.objects.select_for_update().get(pk=agreement_id)
        if agreement.pdf:
            _send_if_due(req, agreement)
        else:
            with stored_file(agreement.pdf, f"{req.reference}.pdf", pdf_bytes):
                agreement.pdf_sha256 = sha256_hex(pdf_bytes)
                agreement.rendered_at = timezone.now()
                agreement.save()
                audit(req, None, "agreement.rendered", message=f"SHA-256 {agreement.pdf_sha256}.")
                _send_if_due(req, agreement)
    agreement.refresh_from_db()
    return agreement


def _send_if_due(req, agreement: Agreement) -> None:
    if req.state == State.REVIEWED and agreement.sent_at is None:
        request_send_agreement(request_id=req.pk, actor=agreement.requested_by)


def agreement_record_failure(*, agreement_id: int, reason: str) -> None:
    """Store why an agreement could not be rendered or sent, for staff to see and retry."""
    with transaction.atomic():
        agreement = Agreement.objects.select_for_update().get(pk=agreement_id)
        if agreement.sent_at:
            return
        agreement.failure = reason
        agreement.save(update_fields=["failure"])
        audit(agreement.request, None, "agreement.failed", message=reason)


def request_send_agreement(*, request_id: int, actor):
    """reviewed -> fpa_sent, once the current agreement's PDF is rendered; emails it."""
    with transaction.atomic():
        req = lock_request(request_id)
        agreement = req.current_agreement
        apply_transition(
            req,
            actor,
            "send_agreement",
            "request.agreement_sent",
            message=f"FPA {agreement.template_version if agreement else ''}, "
            f"SHA-256 {agreement.pdf_sha256 if agreement else ''}.",
        )
        agreement.sent_at = req.fpa_sent_at
        agreement.save(update_fields=["sent_at"])
        enqueue_after_commit(EMAIL_TASK, agreement_id=agreement.pk)
    return req


def request_record_signature(
    *,
    request_id: int,
    actor,
    signed_copy,
    signatory_name: str,
    signatory_job_title: str,
    signed_on,
    signatory_is_director: bool,
    matches_issued: bool = False,
    signatory_email: str = "",
):
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
        agreement = req.current_agreement
        if agreement is None or req.state != State.FPA_SENT:
            raise ActionRefused(
                f"Request {req.reference} is “{req.get_state_display()}”; a signed copy is "
                "recorded only while the agreement is out for signature."
            )
        with stored_file(agreement.signed_copy, "signed.pdf", content):
            agreement.signed_copy_sha256 = digest
            agreement.signatory_name = signatory_name.strip()
            agreement.signatory_job_title = signatory_job_title.strip()
            agreement.signatory_is_director = signatory_is_director
            agreement.signed_on = signed_on
            agreement.received_at = timezone.now()
            agreement.signature_check = signature_check
            agreement.save()
            apply_transition(
                req,
                actor,
                "record_signature",
                "request.signed",
                message=f"Signed by {agreement.signatory_name}, {agreement.signatory_job_title}"
                f", on {signed_on:%d %B %Y}. Signed copy SHA-256 {digest}. Compared with the "
                f"issued agreement. {signature_check}",
            )
            if signatory_email:
                _name_signatory(req, agreement, signatory_email, actor)
            queue_request_email(req, "signed")
    return req


def _name_signatory(req, agreement, email: str, actor) -> None:
    """The signatory, as the request's (one) signatory contact."""
    now = timezone.now()
    req.contacts.filter(role=ContactRole.SIGNATORY, removed_at__isnull=True).update(removed_at=now)
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name=agreement.signatory_name,
        job_title=agreement.signatory_job_title,
        email=email.strip().lower(),
        added_at=now,
    )
    audit(req, actor, "contact.added", message=f"Signatory {agreement.signatory_name} <{email}>.")


def evidence_add(*, request_id: int, actor, criterion_id: int, upload, notes: str = ""):
    """Staff store one piece of DCB1596 evidence the organisation sent against a criterion."""
    ensure_may(actor, "upload_evidence")
    return _store_evidence(request_id, criterion_id, upload, actor=actor, notes=notes)


def evidence_submit(*, request_id: int, actor_email: str, criterion_id: int, upload):
    """A contact named on the request uploads evidence for a criterion through the portal."""
    return _store_evidence(request_id, criterion_id, upload, actor_email=actor_email)


def _store_evidence(request_id, criterion_id, upload, *, actor=None, actor_email="", notes=""):
    criterion = EvidenceCriterion.objects.filter(pk=criterion_id).first()
    if criterion is None:
        raise ActionRefused("Choose one of the DCB1596 criteria for this evidence.")
    allowed = PDF_OR_IMAGE if criterion.accepts_images else PDF_ONLY
    # Judged before the row lock: parsing may take seconds.
    content, digest, inspection = read_upload(upload, what="evidence", allowed=allowed)
    with transaction.atomic():
        req = lock_request(request_id)
        if (
            actor_email
            and not req.contacts.filter(email__iexact=actor_email, removed_at__isnull=True).exists()
        ):
            raise ActionRefused("That request does not exist.")
        if req.state not in (State.FPA_SENT, State.SIGNED):
            raise ActionRefused(
                f"Evidence is taken once the agreement is sent and until it is verified; "
                f"request {req.reference} is “{req.get_state_display()}”."
            )
        item = EvidenceItem(
            request=req,
            criterion=criterion,
            original_filename=getattr(upload, "name", "evidence")[:255],
            sha256=digest,
            uploaded_by=actor,
            uploaded_by_email=actor_email,
            notes=notes,
        )
        suffix = {"pdf": "pdf", "png": "png", "jpeg": "jpg"}[inspection.kind]
        with stored_file(item.file, f"evidence.{suffix}", content):
            item.save()
            audit(
                req,
                actor,
                "evidence.uploaded",
                message=f"{criterion.title}: {item.original_filename} (SHA-256 {digest}).",
                actor_label=actor_email,
            )
    return item


def _lock_item_for_review(item_id: int, actor):
    ensure_may(actor, "verify_evidence")
    item = EvidenceItem.objects.filter(pk=item_id).first()
    if item is None:
        raise ActionRefused("That evidence does not exist.")
    req = lock_request(item.request_id)
    item = EvidenceItem.objects.select_for_update().select_related("criterion").get(pk=item_id)
    if req.state != State.SIGNED:
        raise ActionRefused(
            f"Evidence is reviewed once the agreement is signed; request {req.reference} is "
            f"“{req.get_state_display()}”."
        )
    if item.status != EvidenceStatus.PENDING:
        raise ActionRefused(
            f"This evidence for “{item.criterion.title}” is already "
            f"{item.get_status_display().lower()}."
        )
    return req, item


def evidence_verify(*, item_id: int, actor, notes: str = "") -> EvidenceItem:
    """Accept one evidence item."""
    with transaction.atomic():
        req, item = _lock_item_for_review(item_id, actor)
        item.status = EvidenceStatus.VERIFIED
        item.verified_by = actor
        item.verified_at = timezone.now()
        item.notes = notes or item.notes
        item.save()
        audit(req, actor, "evidence.verified", message=item.criterion.title)
    return item


def evidence_return(*, item_id: int, actor, reason: str) -> EvidenceItem:
    """Send one evidence item back for rework; the request stays signed."""
    if not reason.strip():
        raise ActionRefused("Say what is wrong with the evidence; the organisation sees it.")
    with transaction.atomic():
        req, item = _lock_item_for_review(item_id, actor)
        item.status = EvidenceStatus.RETURNED
        item.returned_reason = reason.strip()
        item.save()
        audit(req, actor, "evidence.returned", message=f"{item.criterion.title}: {reason}")
        queue_request_email(req, "evidence_returned", key=f"evidence_returned:{item.pk}")
    return item


def request_verify_evidence(*, request_id: int, actor):
    """signed -> evidence_verified, when every required criterion has verified evidence."""
    with transaction.atomic():
        req = lock_request(request_id)
        apply_transition(req, actor, "verify_evidence", "request.evidence_verified", verifier=actor)
    return req
