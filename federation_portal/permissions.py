"""Who may take which action, named in one place for every app. django-fsm does not check
permissions when a transition is called, so every service calls ensure_may first."""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal_kit.errors import ActionRefused

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ACTION_PERMISSIONS = {
    "review": ("requests_app.review_request", "review requests"),
    "send_agreement": ("requests_app.send_agreement", "send agreements"),
    "record_signature": ("requests_app.record_signature", "record signed agreements"),
    "verify_evidence": ("requests_app.verify_evidence", "verify evidence"),
    "federate": ("requests_app.federate_request", "federate requests"),
    "reject": ("requests_app.reject_request", "reject requests"),
    "withdraw": ("requests_app.withdraw_request", "withdraw requests"),
    "upload_evidence": ("requests_app.verify_evidence", "add evidence"),
    # Verifying a re-attestation is verifying DCB1596 evidence again, a year on.
    "verify_reattestation": ("requests_app.verify_evidence", "verify re-attestations"),
    "raise_on_behalf": ("requests_app.raise_on_behalf", "raise requests on behalf of others"),
    "confirm_spoc_change": (
        "requests_app.confirm_spoc_change",
        "confirm or decline changes of SPOC",
    ),
    "suspend": ("requests_app.suspend_request", "suspend requests"),
    "reinstate": ("requests_app.suspend_request", "reinstate requests"),
    "revoke": ("requests_app.revoke_request", "revoke agreements"),
    # Taking one domain off the allow list is a partial suspension: whoever may suspend.
    "remove_domain": ("requests_app.suspend_request", "remove a request's domains"),
    # A domain added to a federated request: approving it sends an amended agreement, so
    # whoever sends agreements; refusing it is a review's judgement, so whoever reviews.
    "approve_domain_addition": ("requests_app.send_agreement", "approve domain additions"),
    "refuse_domain_addition": ("requests_app.review_request", "refuse domain additions"),
    # Confirm (the transition) or decline an organisation's ask to end its agreement.
    "offboard": ("requests_app.offboard_request", "confirm or decline offboarding"),
    # Whoever may suspend decides on an overdue case: suspend, or close it with a reason.
    "close_remediation": ("requests_app.suspend_request", "close remediation cases"),
    "apply_change_set": (
        "requests_app.federate_request",
        "record allow list change sets as applied",
    ),
    # Registering API clients and issuing keys hands systems these same permissions.
    "manage_api_clients": ("api.change_apiclient", "manage API clients and their keys"),
    # Registering a receiver URL sends it events; replaying one sends an event again.
    "manage_webhooks": (
        "webhooks.change_webhookendpoint",
        "manage webhook endpoints and replay deliveries",
    ),
    "work_support": ("support.change_supportrequest", "work support requests"),
    # Whoever reviews a request may ask for its domain checks to be run again.
    "run_checks": ("requests_app.review_request", "run the domain checks"),
}

# Actions taken with no staff user (actor None), where the service itself establishes who acts:
# the requester through their private status link, the signatory signed in by emailed link
# (the signing service checks they are the one named), and the daily expiry job.
ACTIONS_WITHOUT_USER = {"withdraw", "sign", "expire_agreement"}


def may(actor: User | None, action: str) -> bool:
    """True when actor (a staff user, or None: see ACTIONS_WITHOUT_USER) may take action."""
    if actor is None:
        return action in ACTIONS_WITHOUT_USER
    if action not in ACTION_PERMISSIONS:  # not a staff action
        return False
    permission, _ = ACTION_PERMISSIONS[action]
    return bool(actor.is_active and actor.has_perm(permission))


def ensure_may(actor: User | None, action: str) -> None:
    """Raise ActionRefused unless actor may take action."""
    if not may(actor, action):
        _, described = ACTION_PERMISSIONS.get(action, ("", "do this"))
        raise ActionRefused(f"You do not have permission to {described}.")
