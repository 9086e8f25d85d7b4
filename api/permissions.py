"""Scopes per operation: each view names the scope each of its HTTP methods needs."""

from rest_framework.permissions import BasePermission

from .models import ApiKey

# Declared by an operation any live key may call (GET /api/v1/me/: which key is this?).
ANY_KEY = ""


def required_scope(view, method: str) -> str | None:
    """The scope view declares for method ("*" for all its methods), or None: undeclared."""
    scopes = getattr(view, "required_scopes", {})
    if method == "HEAD":
        method = "GET"  # Django answers HEAD with get(): the same operation, without the body
    return scopes.get(method, scopes.get("*"))


class HasScope(BasePermission):
    """A live key (401 without one) whose client holds the view's scope for this method (403)."""

    message = "This API key's client does not have the scope this operation needs."

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            return False  # unauthenticated: DRF answers 401 with WWW-Authenticate
        if request.method.lower() not in view.http_method_names or not hasattr(
            view, request.method.lower()
        ):
            return True  # no such operation: DRF answers 405 with Allow, not "lacks the scope"
        scope = required_scope(view, request.method)
        if scope is None:
            return False  # an operation nobody declared a scope for is closed
        if scope == ANY_KEY:
            return True
        if not key.client.has_scope(scope):
            self.message = f"This API key's client does not have the scope {scope}."
            return False
        return True
