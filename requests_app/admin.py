"""Admin for organisations, the allow list, the audit log, check runs, remediation cases and
changes of SPOC.

The federation request's own page (the Feedback team's workbench) is in the workbench app.
"""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from federation_portal.permissions import may
from portal_kit.admin import ReadOnlyAdminMixin
from portal_kit.errors import ActionRefused
from portal_kit.forms import LimitedFileField, UploadForm

from .allow_list_formats import EXPORT_FORMATS, decode_tenant_text
from .models import (
    AllowListApplication,
    AllowListEntry,
    AuditEvent,
    CheckRun,
    CheckRunState,
    Organisation,
    OutboxMessage,
    RemediationCase,
    SentEmail,
    SpocChange,
)
from .selectors import allow_list_change_set
from .services import contacts
from .services.allow_list import (
    allow_list_change_set_applied,
    allow_list_change_set_export,
    allow_list_export,
    allow_list_reconcile,
)


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


class TenantAllowListForm(UploadForm):
    text = forms.CharField(
        label="Paste what the tenant holds",
        help_text="The output of Get-CsTenantFederationConfiguration (its AllowedDomains), or "
        "Entra's B2B management policy JSON.",
        required=False,
        max_length=2_000_000,
        widget=forms.Textarea(attrs={"rows": 8, "cols": 90, "spellcheck": "false"}),
    )
    file = LimitedFileField(label="Or upload it as a text file", required=False)

    def clean(self):
        data = super().clean()
        text = data.get("text", "")
        upload = data.get("file")
        if upload:
            try:
                text = decode_tenant_text(upload.read())
            except ValueError as error:
                raise forms.ValidationError(str(error)) from None
        if not text.strip():
            raise forms.ValidationError("Paste the tenant's allowed domains, or upload them.")
        data["tenant_text"] = text
        return data


@admin.register(AllowListEntry)
class AllowListEntryAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Domains join through federation, or manage.py import_allowlist."""

    list_display = (
        "display_name",
        "domain",
        "effective_date",
        "effective_to",
        "source",
        "request",
        "end_reason",
    )
    list_filter = ("source", ("effective_to", admin.EmptyFieldListFilter), "effective_date")
    search_fields = ("domain", "request__reference")
    list_select_related = ("request",)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "export/<str:fmt>/",
                wrap(self.export_view),
                name="requests_app_allowlistentry_export",
            ),
            path(
                "changes/", wrap(self.change_set_view), name="requests_app_allowlistentry_changes"
            ),
            path(
                "reconcile/",
                wrap(self.reconcile_view),
                name="requests_app_allowlistentry_reconcile",
            ),
            path(
                "changes/<str:fmt>/",
                wrap(self.change_set_export_view),
                name="requests_app_allowlistentry_changes_export",
            ),
            *super().get_urls(),
        ]

    def change_set_view(self, request):
        """What the tenant must add and remove since the last change set applied; staff
        record here that they applied one (its export's SHA-256 proves which)."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        may_apply = may(request.user, "apply_change_set")
        problem = ""
        if request.method == "POST":
            if not may_apply:
                raise PermissionDenied
            fmt = request.POST.get("format", "")
            try:
                if fmt not in EXPORT_FORMATS:
                    raise ActionRefused("Choose the format of the file you applied.")
                allow_list_change_set_applied(
                    fmt=fmt, sha256=request.POST.get("sha256", ""), actor=request.user
                )
            except ActionRefused as refusal:
                problem = str(refusal)
            else:
                messages.success(request, "Recorded: the tenant now holds the allow list.")
                return HttpResponseRedirect(request.path)
        change_set = allow_list_change_set()
        context = {
            **self.admin_site.each_context(request),
            "title": "Allow list changes for the tenant",
            "opts": self.model._meta,
            "change_set": change_set,
            "export_formats": EXPORT_FORMATS,
            "may_apply": may_apply,
            "problem": problem,
            "applied": AllowListApplication.objects.select_related("applied_by")[:10],
        }
        return TemplateResponse(
            request,
            "admin/requests_app/allowlistentry/change_set.html",
            context,
            status=400 if problem else 200,
        )

    def reconcile_view(self, request):
        """Staff paste or upload what the tenant holds; the page shows, domain by domain, what
        is there but not federated here and what is federated here but missing there."""
        if not may(request.user, "apply_change_set"):
            raise PermissionDenied
        form = TenantAllowListForm.for_request(request)
        result = None
        if request.method == "POST" and form.is_valid():
            try:
                result = allow_list_reconcile(
                    text=form.cleaned_data["tenant_text"], actor=request.user
                )
            except ActionRefused as refusal:
                form.add_error(None, str(refusal))
        context = {
            **self.admin_site.each_context(request),
            "title": "Reconcile the allow list with the tenant",
            "opts": self.model._meta,
            "form": form,
            "result": result,
        }
        return TemplateResponse(
            request,
            "admin/requests_app/allowlistentry/reconcile.html",
            context,
            status=400 if form.errors else 200,
        )

    def change_set_export_view(self, request, fmt):
        if not self.has_view_permission(request):
            raise PermissionDenied
        if fmt not in EXPORT_FORMATS:
            raise Http404("No such format.")
        export = allow_list_change_set_export(fmt=fmt, actor=request.user)
        for warning in export.warnings:
            messages.warning(request, warning)
        response = HttpResponse(export.text, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        response["X-Content-SHA256"] = export.sha256
        return response

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


@admin.register(AllowListApplication)
class AllowListApplicationAdmin(ReadOnlyAdmin):
    """Each change set staff applied to the tenant: who, when, and the export's SHA-256."""

    list_display = (
        "applied_at",
        "applied_by",
        "export_format",
        "added",
        "removed",
        "export_sha256",
    )
    list_select_related = ("applied_by",)


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
            f"{check.display_name}: {check.get_verdict_display()}"
            for check in run.domains_checked.all()
        )

    @admin.display(description="got worse")
    def got_worse(self, run):
        return "; ".join(
            f"{item['check']} {item['before']} → {item['after']}" for item in run.worsened
        )


class RemediationStandingFilter(admin.SimpleListFilter):
    """Overdue (judged today) first: each awaits a person's decision to suspend or not."""

    title = "standing"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [("yes", "Overdue, awaiting a decision"), ("open", "Open"), ("closed", "Closed")]

    def queryset(self, request, queryset):
        if self.value() == "yes":
            return queryset.awaiting_decision(timezone.localdate())
        if self.value() == "open":
            return queryset.open()
        if self.value() == "closed":
            return queryset.filter(closed_at__isnull=False)
        return queryset


@admin.register(RemediationCase)
class RemediationCaseAdmin(ReadOnlyAdmin):
    """Cases opened when a federated domain's check got worse; staff decide on overdue ones on
    the request's page (suspend, or close the case with a reason)."""

    list_display = (
        "due_date",
        "request_link",
        "organisation",
        "request_state",
        "opened_at",
        "standing",
        "to_fix",
    )
    list_filter = (
        RemediationStandingFilter,
        "how_closed",
        ("opened_at", admin.DateFieldListFilter),
    )
    search_fields = ("request__reference", "request__organisation__name")
    list_select_related = ("request__organisation",)
    ordering = ("due_date", "pk")
    show_full_result_count = False
    fields = (
        "request",
        "opened_at",
        "opened_by_run",
        "due_date",
        "items",
        "closed_at",
        "how_closed",
        "closed_by",
        "closed_by_run",
        "close_reason",
    )
    readonly_fields = fields

    @admin.display(description="request", ordering="request__reference")
    def request_link(self, case):
        url = reverse("admin:requests_app_federationrequest_change", args=[case.request_id])
        return format_html('<a href="{}#remediation">{}</a>', url, case.request.reference)

    @admin.display(description="organisation", ordering="request__organisation__name")
    def organisation(self, case):
        return case.request.organisation.name

    @admin.display(description="request state")
    def request_state(self, case):
        return case.request.get_state_display()

    @admin.display(description="standing")
    def standing(self, case):
        if not case.is_open:
            return f"Closed {case.closed_at:%Y-%m-%d}: {case.get_how_closed_display()}"
        return "Overdue" if case.is_overdue() else "Open"

    @admin.display(description="to fix")
    def to_fix(self, case):
        return "; ".join(
            f"{item['domain']}: {item['check_name']} ({item['status']})"
            for item in case.items_for_people()
            if not item.get("fixed")
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
