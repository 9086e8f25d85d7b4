"""The lifecycle's preconditions that agreements owns, registered on requests_app's transitions
(AgreementsConfig.ready): requests_app never reads agreement tables itself."""

from __future__ import annotations

from typing import TYPE_CHECKING

from requests_app.models import FederationRequest
from requests_app.services.locking import register_guard

from .models import EvidenceStatus
from .selectors import current_agreement, lapsed_refusal, missing_evidence

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def agreement_rendered(req: FederationRequest, actor: User | None) -> str:
    """send_agreement: the current agreement is rendered, fingerprinted and not expired."""
    agreement = current_agreement(req)
    if agreement and agreement.pdf and agreement.pdf_sha256 and not agreement.expired_at:
        return ""
    return "The agreement has not been rendered yet. It is sent as soon as it is ready."


def agreement_signed(req: FederationRequest, actor: User | None) -> str:
    """record_signature and sign: a signed copy and a named Director-level signatory."""
    agreement = current_agreement(req)
    if (
        agreement
        and agreement.signed_copy
        and agreement.signatory_name.strip()
        and agreement.signatory_job_title.strip()
        and agreement.signatory_is_director
    ):
        return ""
    return (
        "Upload the signed copy and give the signatory's name and job title, confirming they "
        "hold a Director-level role, before marking the agreement signed."
    )


def agreement_not_lapsed(req: FederationRequest, actor: User | None) -> str:
    """sign and record_signature: the FPA has not passed FPA_EXPIRY_DAYS, judged now rather
    than by the daily job that later marks it expired."""
    return lapsed_refusal(req)


def evidence_verified(req: FederationRequest, actor: User | None) -> str:
    """verify_evidence: every required criterion has verified evidence (and at least one item
    does: with no required criteria configured, nothing is proven)."""
    missing = missing_evidence(req)
    if missing:
        return "Evidence is not yet verified for: " + "; ".join(missing) + "."
    if not req.evidence_items.filter(status=EvidenceStatus.VERIFIED).exists():
        return "No evidence has been verified yet."
    return ""


def four_eyes(req: FederationRequest, actor: User | None) -> str:
    """federate: whoever judged the evidence does not also federate on it."""
    if actor is None:
        return ""
    verified_items = req.evidence_items.filter(status=EvidenceStatus.VERIFIED, verified_by=actor)
    if req.evidence_verified_by_id == actor.pk or verified_items.exists():
        return (
            "You verified this request's evidence, so someone else in the Feedback team "
            "must federate it (four eyes)."
        )
    return ""


def register() -> None:
    register_guard("send_agreement", agreement_rendered)
    register_guard("record_signature", agreement_not_lapsed)
    register_guard("record_signature", agreement_signed)
    register_guard("sign", agreement_not_lapsed)
    register_guard("sign", agreement_signed)
    register_guard("verify_evidence", evidence_verified)
    register_guard("federate", four_eyes, about_actor=True)
