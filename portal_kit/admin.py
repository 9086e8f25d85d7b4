"""Admin pieces several apps use."""

from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse


class ReadOnlyAdminMixin:
    """For ModelAdmins and inlines that show rows and never add, change or delete them: changes
    go through the services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


def shown_once(
    model_admin: Any, request: HttpRequest, template: str, **context: Any
) -> TemplateResponse:
    """The admin page that shows a secret the portal keeps only as a hash, or hands to no one
    else (an API key, a webhook signing secret): never stored by a browser or a proxy."""
    page = TemplateResponse(
        request,
        template,
        {**model_admin.admin_site.each_context(request), "opts": model_admin.opts, **context},
    )
    page["Cache-Control"] = "no-store"
    return page
