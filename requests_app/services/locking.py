"""The one door for every state change: lock the request, check the actor, the state and every
guard, take the transition, save and audit it.

Other apps own some preconditions of the lifecycle (an agreement rendered, evidence verified,
four eyes); they register them here as guards, so requests_app never reads their tables.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django_fsm import ConcurrentTransition, can_proceed

from federation_portal.permissions import ensure_may
from portal_kit.errors import ActionRefused

from ..audit import REQUESTER_LABEL, audit
from ..models import FederationRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# A guard says why actor may not take the action on the request now, or "" when they may.
Guard = Callable[[FederationRequest, "User | None"], str]

# What each action is called in a sentence.
ACTION_PHRASES = {
    "review": "reviewed",
    "send_agreement": "sent an agreement",
    "record_signature": "marked as signed",
    "sign": "signed",
    "verify_evidence": "marked as evidence verified",
    "federate": "federated",
    "reject": "rejected",
    "withdraw": "withdrawn",
    "expire_agreement": "returned for a fresh agreement",
    "suspend": "suspended",
    "reinstate": "reinstated",
    "revoke": "revoked",
    "offboard": "offboarded",
}

_guards: defaultdict[str, list[Guard]] = defaultdict(list)
# Guards about who acts rather than about the request (four eyes): a face hides the action from
# whoever they refuse, since nothing that person can do will change the answer.
_actor_guards: defaultdict[str, list[Guard]] = defaultdict(list)


def register_guard(action: str, guard: Guard, *, about_actor: bool = False) -> None:
    """Add a precondition another app owns to a transition (called from AppConfig.ready)."""
    if guard not in _guards[action]:
        _guards[action].append(guard)
    if about_actor and guard not in _actor_guards[action]:
        _actor_guards[action].append(guard)


def actor_refusal(req: FederationRequest, *, actor: User | None, action: str) -> str:
    """Why this actor may never take the action on req (four eyes), or "" (a read for faces)."""
    for guard in _actor_guards[action]:
        reason = guard(req, actor)
        if reason:
            return reason
    return ""


def lock_request(request_id: int) -> FederationRequest:
    """The request, row-locked until the transaction ends."""
    request: FederationRequest | None = (
        FederationRequest.objects.select_for_update().filter(pk=request_id).first()
    )
    if request is None:
        raise ActionRefused("That request does not exist.")
    return request


def ensure_may_now(req: FederationRequest, *, actor: User | None, action: str) -> None:
    """Raise ActionRefused unless actor may take action and the request's state allows it."""
    ensure_may(actor, action)
    if not can_proceed(getattr(req, action), check_conditions=False):
        raise ActionRefused(
            f"Request {req.reference} is now “{req.get_state_display()}”, so it cannot be "
            f"{ACTION_PHRASES[action]}. Reload the page to see where it stands."
        )


def _review_refusal(req: FederationRequest) -> str:
    hours = settings.REVIEW_CHECKS_MAX_AGE_HOURS
    if req.running_check_runs().exists():
        return "The domain checks are running. Review once they have completed."
    run = req.latest_completed_check_run()
    if run is None:
        return "The domain checks have not been run. Run them, then review once they complete."
    return (
        f"The latest domain checks completed {run.completed_at:%d %B %Y at %H:%M} UTC, more than "
        f"{hours} hours ago. Run the checks again and review once they complete."
    )


def _offboard_refusal(req: FederationRequest) -> str:
    return (
        f"Nobody from the organisation has asked to end the agreement of {req.reference}, or "
        "their ask was decided already. Offboarding starts with the SPOC or signatory asking in "
        "the portal."
    )


# Why a transition's own conditions (conditions= on the model) stop it, for each that has some.
CONDITION_REFUSALS: dict[str, Callable[[FederationRequest], str]] = {
    "review": _review_refusal,
    "offboard": _offboard_refusal,
}


def _refusal(req: FederationRequest, *, actor: User | None, action: str) -> str:
    """Why a guard stops the action now: the model's own conditions, then registered guards."""
    if not can_proceed(getattr(req, action)):
        refusal = CONDITION_REFUSALS.get(action)
        return (
            refusal(req)
            if refusal
            else f"Request {req.reference} cannot be {ACTION_PHRASES[action]} yet."
        )
    for guard in _guards[action]:
        reason = guard(req, actor)
        if reason:
            return reason
    return ""


def apply_transition(
    req: FederationRequest,
    *,
    actor: User | None,
    action: str,
    audit_action: str,
    message: str = "",
    actor_label: str = "",
    **kwargs: Any,
) -> FederationRequest:
    """Check permission, state and guards, take the transition, save and audit it.

    Call inside a transaction on a row from lock_request. actor_label names who acted when
    actor is None (the requester's link by default).
    """
    ensure_may_now(req, actor=actor, action=action)
    refusal = _refusal(req, actor=actor, action=action)
    if refusal:
        raise ActionRefused(refusal)
    from_state = req.state
    getattr(req, action)(**kwargs)
    try:
        req.save()
    except ConcurrentTransition:
        raise ActionRefused(
            f"Request {req.reference} was changed by someone else a moment ago. "
            "Reload the page to see where it stands."
        ) from None
    audit(
        req,
        actor,
        audit_action,
        message=message,
        from_state=from_state,
        to_state=req.state,
        actor_label=actor_label or ("" if actor else REQUESTER_LABEL),
    )
    return req
