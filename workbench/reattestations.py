"""The re-attestation campaign in the workbench: how many are due, answered (waiting for staff)
and overdue (the "for suspension" list), each a filter of the list; a re-attestation's page
with its answers, and the buttons to verify it (the term renews) or return it with a reason.
Suspending stays the request's own action, for staff to decide."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from agreements.models import Reattestation, ReattestationAnswer, ReattestationStatus
from agreements.selectors import (
    reattestations_answered,
    reattestations_due,
    reattestations_overdue,
)
from agreements.services import reattestation as services
from federation_portal.permissions import may
from portal_kit.admin import ReadOnlyAdminMixin
from portal_kit.errors import ActionRefused

from .forms import ReasonForm

# The campaign's lists: (filter value, what the count says, the selector).
CAMPAIGN = (
    ("due", "due: waiting for the organisation's answer", reattestations_due),
    ("answered", "answered: waiting for the Feedback team to verify", reattestations_answered),
    ("overdue", "overdue: the term ended unanswered (for suspension)", reattestations_overdue),
)


class CampaignFilter(admin.SimpleListFilter):
    title = "campaign"
    parameter_name = "campaign"

    def lookups(self, request, model_admin):
        return [
            ("due", "Due"),
            ("answered", "Answered, to verify"),
            ("overdue", "Overdue: for suspension"),
        ]

    def queryset(self, request, queryset):
        for key, _, selector in CAMPAIGN:
            if self.value() == key:
                return queryset.filter(pk__in=selector().values("pk"))
        return queryset


class ReattestationAnswerInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReattestationAnswer
    extra = 0
    can_delete = False
    fields = ("criterion", "answer", "evidence_status", "answered_at")
    readonly_fields = fields

    @admin.display(description="new evidence")
    def evidence_status(self, answer):
        item = answer.evidence
        if item is None:
            return "—"
        return f"{item.original_filename}: {item.get_status_display()}"


@admin.register(Reattestation)
class ReattestationAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = (
        "reference",
        "organisation",
        "term_ends_on",
        "status",
        "answered_at",
        "signatory_confirmed_at",
        "overdue_at",
        "request_link",
    )
    list_filter = (CampaignFilter, "status", "term_ends_on")
    search_fields = ("request__reference", "request__organisation__name")
    ordering = ("term_ends_on", "pk")
    list_select_related = ("request__organisation",)
    fields = (
        "request",
        "term_ends_on",
        "status",
        "opened_at",
        "contacts_confirmed_at",
        "answered_at",
        "answered_by_email",
        "signatory_confirmed_at",
        "signatory_name",
        "signatory_email",
        "verified_at",
        "verified_by",
        "renewed_until",
        "returned_at",
        "returned_reason",
        "overdue_at",
    )
    readonly_fields = fields
    inlines = [ReattestationAnswerInline]

    @admin.display(description="request", ordering="request__reference")
    def reference(self, reattestation):
        return reattestation.request.reference  # the link to the re-attestation's page

    @admin.display(description="the request's page")
    def request_link(self, reattestation):
        request_id = reattestation.request_id
        url = reverse("admin:requests_app_federationrequest_change", args=[request_id])
        return format_html('<a href="{}">Request {}</a>', url, reattestation.request.reference)

    @admin.display(description="organisation")
    def organisation(self, reattestation):
        return reattestation.request.organisation.name

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:pk>/decide/<str:verb>/",
                wrap(self.decide_view),
                name="agreements_reattestation_decide",
            ),
            *super().get_urls(),
        ]

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "campaign": [(key, label, selector().count()) for key, label, selector in CAMPAIGN],
        }
        return super().changelist_view(request, extra_context)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and may(request.user, "verify_reattestation"):
            context["may_verify"] = obj.status == ReattestationStatus.CONFIRMED
            context["may_return"] = obj.status in (
                ReattestationStatus.ANSWERED,
                ReattestationStatus.CONFIRMED,
            )
        return super().render_change_form(request, context, add, change, form_url, obj)

    def decide_view(self, request, pk, verb):
        """Verify (the term renews) or return with a reason: one service call each."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        reattestation = get_object_or_404(Reattestation.objects.select_related("request"), pk=pk)
        if verb not in ("verify", "return"):
            raise Http404("No such action.")
        back = redirect("admin:agreements_reattestation_change", reattestation.pk)
        if not may(request.user, "verify_reattestation"):
            messages.error(request, "You do not have permission to verify re-attestations.")
            return back
        form = None
        if verb == "return":
            form = ReasonForm(request.POST) if request.method == "POST" else ReasonForm()
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                if verb == "verify":
                    done = services.reattestation_verify(
                        reattestation_id=reattestation.pk, actor=request.user
                    )
                    messages.success(
                        request,
                        f"The re-attestation of {reattestation.request} is verified: the "
                        f"agreement is renewed until {done.renewed_until:%d %B %Y}.",
                    )
                else:
                    services.reattestation_return(
                        reattestation_id=reattestation.pk,
                        actor=request.user,
                        reason=form.cleaned_data["reason"],
                    )
                    messages.success(
                        request,
                        f"The re-attestation of {reattestation.request} is returned; the "
                        "organisation has been emailed the reason.",
                    )
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
            return back
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": reattestation,
            "title": (
                "Verify the re-attestation and renew the term"
                if verb == "verify"
                else "Return the re-attestation"
            ),
            "explanation": (
                "The SPOC's answer and the signatory's confirmation are accepted; the agreement "
                "is renewed for another term from the end of this one."
                if verb == "verify"
                else "The SPOC answers again and the signatory confirms again; they see the reason."
            ),
            "form": form,
            "submit_label": "Verify and renew" if verb == "verify" else "Return",
        }
        return TemplateResponse(request, "admin/agreements/reattestation/decide.html", context)
