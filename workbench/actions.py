"""The lifecycle's actions as the Feedback team takes them: a button, a form, a service call and
the sentence that says what happened."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django_fsm import can_proceed

from agreements.selectors import agreement_in_preparation
from agreements.services import agreements, evidence, signatures
from federation_portal.permissions import may
from requests_app.models import FederationRequest
from requests_app.selectors import pending_offboarding_ask
from requests_app.services import lifecycle, offboarding, suspension
from requests_app.services.locking import actor_refusal

from .forms import (
    FederateForm,
    OffboardForm,
    ReasonForm,
    ReviewForm,
    SignatureForm,
    SuspendForm,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def _review(req: FederationRequest, user: User, data: dict) -> str:
    if data["decision"] == "reject":
        lifecycle.request_reject(request_id=req.pk, actor=user, reason=data["notes"])
        return f"{req.reference} was rejected; the requester has been emailed."
    lifecycle.request_review(
        request_id=req.pk,
        actor=user,
        notes=data["notes"],
        override_reason=data.get("override_reason", ""),
    )
    return f"{req.reference} is reviewed. Send the agreement when you are ready."


def _send(req: FederationRequest, user: User, data: dict) -> str:
    agreements.agreement_issue(request_id=req.pk, actor=user)
    return f"The agreement for {req.reference} is being rendered; it is emailed as soon as it is."


def _sign(req: FederationRequest, user: User, data: dict) -> str:
    # SignatureForm's fields are the service's keyword arguments.
    signatures.request_record_signature(request_id=req.pk, actor=user, **data)
    return f"{req.reference} is signed. Verify the evidence next."


def _verify(req: FederationRequest, user: User, data: dict) -> str:
    evidence.request_verify_evidence(request_id=req.pk, actor=user)
    return f"The evidence for {req.reference} is verified."


def _federate(req: FederationRequest, user: User, data: dict) -> str:
    lifecycle.request_federate(request_id=req.pk, actor=user, effective_date=data["effective_date"])
    return f"{req.reference} is federated: its domains are on the allow list."


def _reject(req: FederationRequest, user: User, data: dict) -> str:
    lifecycle.request_reject(request_id=req.pk, actor=user, reason=data["reason"])
    return f"{req.reference} was rejected."


def _withdraw(req: FederationRequest, user: User, data: dict) -> str:
    lifecycle.request_withdraw(request_id=req.pk, actor=user, reason=data["reason"])
    return f"{req.reference} was withdrawn."


def _suspend(req: FederationRequest, user: User, data: dict) -> str:
    suspension.request_suspend(
        request_id=req.pk,
        actor=user,
        reason=data["reason"],
        effective_date=data["effective_date"],
    )
    return (
        f"{req.reference} is suspended: its domains leave the allow list from "
        f"{data['effective_date']:%d %B %Y}. Apply the allow list's change set to the tenant."
    )


def _reinstate(req: FederationRequest, user: User, data: dict) -> str:
    suspension.request_reinstate(request_id=req.pk, actor=user, reason=data["reason"])
    return (
        f"{req.reference} is reinstated: its domains are back on the allow list. Apply the "
        "allow list's change set to the tenant."
    )


def _revoke(req: FederationRequest, user: User, data: dict) -> str:
    suspension.request_revoke(request_id=req.pk, actor=user, reason=data["reason"])
    return f"The agreement of {req.reference} is revoked."


def _offboard(req: FederationRequest, user: User, data: dict) -> str:
    if data["decision"] == "decline":
        offboarding.request_offboarding_decline(
            request_id=req.pk, actor=user, reason=data["decline_reason"]
        )
        return (
            f"The ask to end the agreement of {req.reference} is declined; the organisation "
            "has been emailed the reason."
        )
    offboarding.request_offboard(request_id=req.pk, actor=user)
    return (
        f"{req.reference} is offboarded: its domains leave the allow list from the notice date. "
        "Apply the allow list's change set to the tenant on that date."
    )


def _offboard_explanation(req: FederationRequest) -> str:
    ask = pending_offboarding_ask(req)
    if ask is None:
        return "Nobody from the organisation has asked to end the agreement."
    return (
        f"{ask.asked_by_email} asked on {ask.asked_at:%d %B %Y} to end the agreement, the "
        f"domains off the allow list from {ask.notice_date:%d %B %Y} (or the day you confirm, "
        f"if later). Why: {ask.reason}"
    )


# action: (button label, form class or None, handler, what the confirmation page says: a
# sentence, or a function of the request giving one)
ACTIONS = {
    "review": (
        "Review",
        ReviewForm,
        _review,
        "Record whether the domains meet the initial review criteria.",
    ),
    "send_agreement": (
        "Send the agreement (FPA)",
        None,
        _send,
        "The agreement is rendered "
        "as a PDF and emailed with the DCB1596 criteria to the requester and SPOC.",
    ),
    "record_signature": (
        "Record the signed agreement",
        SignatureForm,
        _sign,
        "Upload the copy the organisation returned, signed by a Director-level signatory.",
    ),
    "verify_evidence": (
        "Mark evidence verified",
        None,
        _verify,
        "Every required DCB1596 criterion has verified evidence.",
    ),
    "federate": (
        "Federate",
        FederateForm,
        _federate,
        "The request's domains join NHSmail's allow list from the effective date.",
    ),
    "suspend": (
        "Suspend",
        SuspendForm,
        _suspend,
        "The domains leave the allow list from the date given and stay recorded; the "
        "organisation is emailed the reason. Reinstating puts them back.",
    ),
    "reinstate": (
        "Reinstate",
        ReasonForm,
        _reinstate,
        "The domains return to the allow list from today. Domain checks run since the "
        "suspension must pass.",
    ),
    "revoke": (
        "Revoke the agreement",
        ReasonForm,
        _revoke,
        "The agreement ends for good and the domains stay off the allow list. Someone other "
        "than whoever suspended the request must revoke it.",
    ),
    "offboard": (
        "Decide the ask to end the agreement",
        OffboardForm,
        _offboard,
        _offboard_explanation,
    ),
    "reject": ("Reject", ReasonForm, _reject, "The requester sees the reason."),
    "withdraw": (
        "Withdraw",
        ReasonForm,
        _withdraw,
        "Withdraw the request on the organisation's behalf.",
    ),
}


# Actions whose button appears only while the transition's own conditions hold: staff confirm an
# organisation's ask, and without one there is nothing to decide.
SHOWN_ONLY_WHEN_CONDITIONS_HOLD = {"offboard"}


def available_actions(user: User, req: FederationRequest) -> list[tuple[str, str]]:
    """(action, label) for every action this user may take on this request now."""
    found = []
    for action, (label, *_rest) in ACTIONS.items():
        # Offboarding's condition (an ask waiting) says whether there is anything to decide.
        conditions = action in SHOWN_ONLY_WHEN_CONDITIONS_HOLD
        if not may(user, action) or not can_proceed(
            getattr(req, action), check_conditions=conditions
        ):
            continue
        if action == "send_agreement" and agreement_in_preparation(req):
            continue  # already being rendered
        if actor_refusal(req, actor=user, action=action):
            continue  # four eyes: the service would refuse this person whatever they do
        found.append((action, label))
    return found
