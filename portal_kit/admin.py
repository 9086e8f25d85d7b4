"""Admin pieces several apps use."""

from typing import Any

from django.http import HttpRequest


class ReadOnlyAdminMixin:
    """For ModelAdmins and inlines that show rows and never add, change or delete them: changes
    go through the services."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
