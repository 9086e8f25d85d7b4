"""Admin for organisations, the allow list and the audit log.

The federation request's own admin (with its agreement and evidence) is in agreements/admin.py.
"""

from django.contrib import admin

from .models import AllowListEntry, AuditEvent, Organisation


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "ods_code", "has_nhsmail_presence", "created_at")
    search_fields = ("name", "ods_code")
    list_filter = ("has_nhsmail_presence",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Readable by staff with the view permission; nobody can add, change or delete."""

    list_display = (
        "created_at",
        "action",
        "request",
        "actor_label",
        "from_state",
        "to_state",
        "ip_address",
    )
    list_filter = ("action", ("created_at", admin.DateFieldListFilter))
    search_fields = ("request__reference", "actor_label", "action", "message")
    list_select_related = ("request",)
    show_full_result_count = False

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AllowListEntry)
class AllowListEntryAdmin(admin.ModelAdmin):
    list_display = ("display_name", "domain", "effective_date", "source", "request")
    list_filter = ("source", "effective_date")
    search_fields = ("domain", "request__reference")
    list_select_related = ("request",)

    def has_add_permission(self, request):
        return False  # domains join through federation, or manage.py import_allowlist

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
