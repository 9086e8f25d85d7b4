"""The staff groups and what each may do, kept in step with the code after every migrate."""

from django.apps import AppConfig
from django.contrib.auth.models import Group, Permission
from django.db import DEFAULT_DB_ALIAS

GROUP_PERMISSIONS = {
    # Review, send, verify, federate, reject, suspend, reinstate, revoke, confirm offboarding;
    # see everything; keep the criteria current.
    "Feedback team": [
        "requests_app.review_request",
        "requests_app.send_agreement",
        "requests_app.record_signature",
        "requests_app.verify_evidence",
        "requests_app.federate_request",
        "requests_app.reject_request",
        "requests_app.withdraw_request",
        "requests_app.confirm_spoc_change",
        "requests_app.suspend_request",
        "requests_app.revoke_request",
        "requests_app.offboard_request",
        "requests_app.view_allowlistapplication",
        "requests_app.view_spocchange",
        "requests_app.view_offboardingask",
        "requests_app.view_teamssetupconfirmation",
        "support.view_supportrequest",
        "support.change_supportrequest",
        "requests_app.view_federationrequest",
        "requests_app.view_requesteddomain",
        "requests_app.view_contact",
        "requests_app.view_organisation",
        "requests_app.view_allowlistentry",
        "requests_app.view_auditevent",
        "requests_app.view_sentemail",
        "requests_app.view_checkrun",
        "requests_app.view_remediationcase",
        "agreements.view_agreement",
        "agreements.view_evidenceitem",
        "agreements.view_reattestation",
        "agreements.view_evidencecriterion",
        "agreements.change_evidencecriterion",
        "agreements.add_evidencecriterion",
    ],
    # Register the systems that call the API, issue, rotate and revoke their keys.
    "API administrators": [
        "api.view_apiclient",
        "api.add_apiclient",
        "api.change_apiclient",
        "api.view_apikey",
        "webhooks.view_webhookendpoint",
        "webhooks.add_webhookendpoint",
        "webhooks.change_webhookendpoint",
        "webhooks.view_webhookdelivery",
        "webhooks.view_webhookattempt",
    ],
    # Raise requests for organisations without an NHSmail presence; see where they stand.
    "Service desk": [
        "requests_app.raise_on_behalf",
        "requests_app.view_federationrequest",
        "requests_app.view_requesteddomain",
        "requests_app.view_contact",
        "requests_app.view_organisation",
        "requests_app.view_allowlistentry",
    ],
}


def ensure_groups(*, sender: AppConfig, **kwargs: object) -> None:
    """post_migrate, once per migrate: create the groups and give each exactly its permissions."""
    from .apps import last_app_with_models

    if sender is not last_app_with_models():
        return
    # The connection migrate runs on (the owner's, in production), not the app's.
    using = str(kwargs.get("using", DEFAULT_DB_ALIAS))
    for name, codes in GROUP_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=name)
        permissions = []
        for code in codes:
            app_label, codename = code.split(".")
            permission = (
                Permission.objects.using(using)
                .filter(content_type__app_label=app_label, codename=codename)
                .first()
            )
            if permission:
                permissions.append(permission)
        group.permissions.set(permissions)
