"""What an API client may do, and the staff permissions each scope gives its service account.

The services check permissions with ensure_may on the acting user (federation_portal.permissions);
an API client acts as its own service account, so a write scope is the permission its service
needs, and a read scope is checked by the API alone.
"""

SCOPES: dict[str, str] = {
    "requests:read": "Read federation requests, their timeline, checks and evidence status",
    "requests:write": "Raise federation requests on an organisation's behalf",
    "support:read": "Read support requests",
    "support:write": "Reply to support requests",
    "allowlist:read": "Read the allow list and its change sets",
    "allowlist:apply": "Record a change set as applied to the tenant",
}

# Scope -> the "app_label.codename" permissions its service account holds.
SCOPE_PERMISSIONS: dict[str, tuple[str, ...]] = {
    "requests:write": ("requests_app.raise_on_behalf",),
    "support:write": ("support.change_supportrequest",),
    "allowlist:apply": ("requests_app.federate_request",),
}

SCOPE_CHOICES = [(scope, f"{scope}: {described}") for scope, described in SCOPES.items()]
