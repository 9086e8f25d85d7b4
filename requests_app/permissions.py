"""Who may take which action. django-fsm does not check permissions when a transition is called,
so every service calls ensure_may first."""

from .errors import ActionRefused

ACTION_PERMISSIONS = {
    "review": ("requests_app.review_request", "review requests"),
    "send_agreement": ("requests_app.send_agreement", "send agreements"),
    "record_signature": ("requests_app.record_signature", "record signed agreements"),
    "verify_evidence": ("requests_app.verify_evidence", "verify evidence"),
    "federate": ("requests_app.federate_request", "federate requests"),
    "reject": ("requests_app.reject_request", "reject requests"),
    "withdraw": ("requests_app.withdraw_request", "withdraw requests"),
    "upload_evidence": ("requests_app.verify_evidence", "add evidence"),
    "raise_on_behalf": ("requests_app.raise_on_behalf", "raise requests on behalf of others"),
    "confirm_spoc_change": (
        "requests_app.confirm_spoc_change",
        "confirm or decline changes of SPOC",
    ),
    "work_support": ("support.change_supportrequest", "work support requests"),
    # Whoever reviews a request may ask for its domain checks to be run again.
    "run_checks": ("requests_app.review_request", "run the domain checks"),
}

# Actions the requester may take through their private status link, without an account.
REQUESTER_ACTIONS = {"withdraw"}


def may(actor, action: str) -> bool:
    """True when actor (a user, or None for the requester's status link) may take action."""
    if actor is None:
        return action in REQUESTER_ACTIONS
    permission, _ = ACTION_PERMISSIONS[action]
    return bool(actor.is_active and actor.has_perm(permission))


def ensure_may(actor, action: str) -> None:
    """Raise ActionRefused unless actor may take action."""
    if not may(actor, action):
        _, described = ACTION_PERMISSIONS[action]
        raise ActionRefused(f"You do not have permission to {described}.")
