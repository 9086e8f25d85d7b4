"""Admin for organisations, the allow list, the audit log, check runs and changes of SPOC.

The federation request's own page (the Feedback team's workbench) is in the workbench app.
"""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from federation_portal.permissions import may
from portal_kit.admin import ReadOnlyAdminMixin
from portal_kit.errors import ActionRefused

from .allow_list_formats import EXPORT_FORMATS
from .models import (
    AllowListEntry,
    AuditEvent,
    CheckRun,
    CheckRunState,
    Organisation,
    OutboxMessage,
    SentEmail,
    SpocChange,
)
from .services import contacts
from .services.allow_list import allow_list_export


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ("name", "ods_code", "has_nhsmail_presence", "created_at")
    search_fields = ("name", "ods_code")
    list_filter = ("has_nhsmail_presence",)

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(AuditEvent)
class AuditEventAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
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


@admin.register(AllowListEntry)
class AllowListEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Domains join through federation, or manage.py import_allowlist."""

    list_display = ("display_name", "domain", "effective_date", "source", "request")
    list_filter = ("source", "effective_date")
    search_fields = ("domain", "request__reference")
    list_select_related = ("request",)

    def get_urls(self):
        return [
            path(
                "export/<str:fmt>/",
                self.admin_site.admin_view(self.export_view),
                name="requests_app_allowlistentry_export",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "export_formats": EXPORT_FORMATS}
        return super().changelist_view(request, extra_context)

    def export_view(self, request, fmt):
        """The allow list as a download, the same as manage.py export_allowlist."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in EXPORT_FORMATS:
            raise Http404("No such format.")
        export = allow_list_export(fmt=fmt, actor=request.user)
        for warning in export.warnings:
            messages.warning(request, warning)
        response = HttpResponse(export.text, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        return response


class ReadOnlyAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    pass


@admin.register(OutboxMessage)
class OutboxMessageAdmin(ReadOnlyAdmin):
    """For operators: jobs waiting for the broker (dispatched at empty) and why they wait, and
    jobs handed to the worker but not done yet (completed at empty: running, retrying, or stuck
    with a dead worker until the visibility timeout or the sweeper sends them again)."""

    list_display = (
        "pk",
        "task_name",
        "created_at",
        "dispatched_at",
        "completed_at",
        "attempts",
        "last_error",
    )
    list_filter = (
        ("dispatched_at", admin.EmptyFieldListFilter),
        ("completed_at", admin.EmptyFieldListFilter),
        "task_name",
    )
    show_full_result_count = False


@admin.register(SentEmail)
class SentEmailAdmin(ReadOnlyAdmin):
    """What was emailed, to whom and when (the text itself is not kept). Sent at empty: being
    sent now, or a send that failed or was cut short (claimed at says when it was tried)."""

    list_display = ("sent_at", "claimed_at", "subject", "recipients", "request")
    list_filter = (("sent_at", admin.EmptyFieldListFilter),)
    list_select_related = ("request",)
    search_fields = ("request__reference", "recipients", "subject")
    show_full_result_count = False


class WorsenedFilter(admin.SimpleListFilter):
    title = "got worse"
    parameter_name = "worsened"

    def lookups(self, request, model_admin):
        return [("yes", "Some check got worse"), ("no", "Nothing got worse")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.exclude(worsened=[])
        if self.value() == "no":
            return queryset.filter(worsened=[])
        return queryset


@admin.register(CheckRun)
class CheckRunAdmin(ReadOnlyAdmin):
    """Every run of the domain checks: what the weekly re-check found, and runs still going."""

    list_display = (
        "requested_at",
        "request_link",
        "purpose",
        "state",
        "completed_at",
        "verdicts",
        "got_worse",
    )
    list_filter = (WorsenedFilter, "purpose", "state", ("requested_at", admin.DateFieldListFilter))
    search_fields = ("request__reference", "request__organisation__name", "domains_checked__domain")
    list_select_related = ("request",)
    show_full_result_count = False
    fields = ("request", "purpose", "state", "requested_at", "completed_at", "worsened")
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("domains_checked")

    @admin.display(description="request", ordering="request__reference")
    def request_link(self, run):
        url = reverse("admin:requests_app_federationrequest_change", args=[run.request_id])
        return format_html('<a href="{}#domain-checks">{}</a>', url, run.request.reference)

    @admin.display(description="verdicts")
    def verdicts(self, run):
        if run.state != CheckRunState.COMPLETE:
            return "—"
        return ", ".join(
            f"{check.display_name}: {check.verdict}" for check in run.domains_checked.all()
        )

    @admin.display(description="got worse")
    def got_worse(self, run):
        return "; ".join(
            f"{item['check']} {item['before']} → {item['after']}" for item in run.worsened
        )


@admin.register(SpocChange)
class SpocChangeAdmin(ReadOnlyAdmin):
    """Changes of SPOC proposed by organisations; the Feedback team confirms or declines."""

    list_display = ("proposed_at", "request", "name", "email", "proposed_by", "state")
    list_filter = ("state",)
    list_select_related = ("request",)
    search_fields = ("request__reference", "email", "proposed_by", "previous_spoc_email")
    actions = ["confirm", "decline"]
    fields = (
        "request",
        "state",
        "previous_spoc_email",
        "name",
        "job_title",
        "email",
        "phone",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
        "decline_reason",
    )
    readonly_fields = fields

    def get_actions(self, request):
        actions = super().get_actions(request)
        if not may(request.user, "confirm_spoc_change"):
            actions.pop("confirm", None)
            actions.pop("decline", None)
        return actions

    def _each(self, request, queryset, act, done: str) -> None:
        for change in queryset:
            try:
                act(change)
            except ActionRefused as refusal:
                self.message_user(request, f"{change}: {refusal}", messages.ERROR)
            else:
                self.message_user(request, f"{change}: {done}", messages.SUCCESS)

    @admin.action(description="Confirm the selected changes of SPOC")
    def confirm(self, request, queryset):
        self._each(
            request,
            queryset,
            lambda change: contacts.spoc_change_confirm(change_id=change.pk, actor=request.user),
            "confirmed; everyone concerned is emailed.",
        )

    @admin.action(description="Decline the selected changes of SPOC (asks for the reason)")
    def decline(self, request, queryset):
        reason = request.POST.get("reason", "").strip()
        if "apply" not in request.POST or not reason:
            return TemplateResponse(
                request,
                "admin/requests_app/spocchange/decline.html",
                {
                    **self.admin_site.each_context(request),
                    "changes": queryset,
                    "missing_reason": "apply" in request.POST,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    "opts": self.model._meta,
                    "title": "Decline changes of SPOC",
                },
            )
        self._each(
            request,
            queryset,
            lambda change: contacts.spoc_change_decline(
                change_id=change.pk, actor=request.user, reason=reason
            ),
            "declined; everyone concerned is emailed the reason.",
        )
        return None
