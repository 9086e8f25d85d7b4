"""The FPA issued: staff ask for it, the worker renders it once, then it is sent."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import transaction
from django.utils import timezone

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused
from requests_app.audit import audit
from requests_app.models import FederationRequest, State
from requests_app.outbox import enqueue_after_commit
from requests_app.services.locking import apply_transition, lock_request

from ..models import Agreement
from ..pdf import render_agreement_pdf, sha256_hex
from ..selectors import agreement_in_preparation, current_agreement
from .amendments import amendment_send_if_due
from .files import stored_file
from .notices import invite_signatory
from .reminders import expire_if_lapsed

if TYPE_CHECKING:
    from django.contrib.auth.models import User

RENDER_TASK = "agreements.tasks.agreement_render"
EMAIL_TASK = "agreements.tasks.agreement_email"


def agreement_issue(*, request_id: int, actor: User) -> Agreement:
    """Staff send the FPA: the worker renders it, then request_send_agreement sends it."""
    with transaction.atomic():
        req = lock_request(request_id)
        ensure_may(actor, "send_agreement")
        # An FPA past FPA_EXPIRY_DAYS is expired now: staff need not wait for the daily job.
        expire_if_lapsed(req)
        if req.state != State.REVIEWED:
            raise ActionRefused(
                f"Request {req.reference} is “{req.get_state_display()}”; an agreement is sent "
                "only after the review."
            )
        if agreement_in_preparation(req):
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
    agreement: Agreement = Agreement.objects.select_related("request__organisation").get(
        pk=agreement_id
    )
    if agreement.failure or agreement.sent_at:
        return agreement
    pdf_bytes = None if agreement.pdf else render_agreement_pdf(agreement)  # slow: no locks held
    with transaction.atomic():
        req = lock_request(agreement.request_id)
        agreement = Agreement.objects.select_for_update().get(pk=agreement_id)
        if agreement.pdf:
            _send_if_due(req, agreement)
        else:
            # Rendered above: a stored PDF is never removed, so none now means none then.
            assert pdf_bytes is not None
            with stored_file(agreement.pdf, f"{req.reference}.pdf", pdf_bytes):
                agreement.pdf_sha256 = sha256_hex(pdf_bytes)
                agreement.rendered_at = timezone.now()
                agreement.save()
                audit(req, None, "agreement.rendered", message=f"SHA-256 {agreement.pdf_sha256}.")
                _send_if_due(req, agreement)
    agreement.refresh_from_db()
    return agreement


def _send_if_due(req: FederationRequest, agreement: Agreement) -> None:
    if agreement.domain_addition_id is not None:
        amendment_send_if_due(req, agreement)
        return
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


def request_send_agreement(*, request_id: int, actor: User) -> FederationRequest:
    """reviewed -> fpa_sent, once the current agreement's PDF is rendered; emails it."""
    with transaction.atomic():
        req = lock_request(request_id)
        agreement = current_agreement(req)
        apply_transition(
            req,
            actor=actor,
            action="send_agreement",
            audit_action="request.agreement_sent",
            message=f"FPA {agreement.template_version if agreement else ''}, "
            f"SHA-256 {agreement.pdf_sha256 if agreement else ''}.",
        )
        assert agreement is not None  # the send_agreement guard holds it rendered
        agreement.sent_at = req.fpa_sent_at
        agreement.save(update_fields=["sent_at"])
        enqueue_after_commit(EMAIL_TASK, agreement_id=agreement.pk)
        invite_signatory(req)
    return req
