"""The Feedback team's workbench: a request with its agreement, evidence, checks and audit log,
and the lifecycle's actions. A room of its own: it may use requests_app and agreements both."""

from django.conf import settings
from django.contrib import admin
from django.urls import path

from agreements.models import EVIDENCE_OPEN_STATES
from agreements.selectors import (
    amendment_out_for_signature,
    evidence_overdue,
    missing_evidence,
    unsigned_overdue,
)
from federation_portal.permissions import may
from requests_app import selectors
from requests_app.domains import domain_unicode
from requests_app.models import AdditionState, FederationRequest, State
from requests_app.services import domain_changes

from . import reattestations  # noqa: F401 (registers the re-attestation campaign's admin)
from .actions import available_actions
from .inlines import (
    AgreementInline,
    ContactInline,
    EvidenceItemInline,
    OffboardingAskInline,
    RequestedDomainInline,
    TeamsSetupInline,
)
from .views import ADDITION_VERBS, WorkbenchViews

# The change page shows the newest audit events open and the rest of AUDIT_SHOWN folded; the
# audit log's own list has them all.
AUDIT_SHOWN = 50
AUDIT_OPEN = 10
# The fieldset of dates the lifecycle stamped: shown with the history, at the page's foot.
HISTORY_FIELDSET = "Dates"


class OverdueFilter(admin.SimpleListFilter):
    """Requests waiting on the organisation past the reminder days: staff chase these first."""

    title = "overdue"
    parameter_name = "overdue"

    def lookups(self, request, model_admin):
        return [
            ("unsigned", "Agreement unsigned"),
            ("evidence", "Evidence outstanding"),
        ]

    def queryset(self, request, queryset):
        if self.value() == "unsigned":
            return queryset.filter(pk__in=unsigned_overdue().values("pk"))
        if self.value() == "evidence":
            return queryset.filter(pk__in=evidence_overdue().values("pk"))
        return queryset


def _addition_actions(user, addition, *, amendment_sent: bool) -> list[tuple[str, str]]:
    """(verb, label) for what this user may do on the open domain addition now."""
    if addition is None:
        return []
    if addition.state == AdditionState.REQUESTED:
        verbs = ["approve", "refuse"]
    elif amendment_sent:
        verbs = ["record_signature", "cancel"]
    else:
        verbs = ["cancel"]  # approved, its amended agreement not sent (being prepared, or failed)
    return [(verb, ADDITION_VERBS[verb][0]) for verb in verbs if may(user, ADDITION_VERBS[verb][1])]


@admin.register(FederationRequest)
class FederationRequestAdmin(WorkbenchViews, admin.ModelAdmin):
    list_display = ("reference", "organisation", "domain_list", "state", "channel", "created_at")
    list_filter = (
        OverdueFilter,
        "state",
        "channel",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("reference", "organisation__name", "organisation__ods_code", "domains__name")
    ordering = ("-created_at",)
    list_per_page = 50
    show_full_result_count = False  # a second COUNT over every row is slow at scale
    fieldsets = (
        (
            "Request",
            {
                "fields": (
                    "reference",
                    "state",
                    "organisation",
                    "channel",
                    "raised_by",
                    "raised_on_behalf_reason",
                    "domain_list",
                    "requester_name",
                    "requester_email",
                    "justification",
                    "created_at",
                )
            },
        ),
        (
            HISTORY_FIELDSET,
            {
                "classes": ("collapse",),
                "fields": (
                    "reviewed_at",
                    "reviewed_by",
                    "review_notes",
                    "fpa_sent_at",
                    "signed_at",
                    "evidence_verified_at",
                    "evidence_verified_by",
                    "federated_at",
                    "effective_date",
                    "closed_at",
                    "closed_reason",
                ),
            },
        ),
    )
    readonly_fields = [f for _, options in fieldsets for f in options["fields"]]
    # In the order the page reads: agreement and evidence, then the people, then the rest.
    inlines = [
        AgreementInline,
        EvidenceItemInline,
        ContactInline,
        TeamsSetupInline,
        OffboardingAskInline,
        RequestedDomainInline,
    ]

    def get_queryset(self, request):
        return selectors.requests_for_admin()

    def get_search_results(self, request, queryset, search_term):
        """Reference, organisation, ODS code or domain (as shown or as stored), without the
        DISTINCT over a join that Django's own search needs (slow at scale, see bench/)."""
        if not search_term.strip():
            return queryset, False
        return queryset.filter(selectors.request_search_filter(search_term)), False

    @admin.display(description="domains")
    def domain_list(self, req):
        return ", ".join(d.display_name for d in req.kept_domains)

    def has_add_permission(self, request):
        return False  # requests come from the form, or the service desk's raise-on-behalf page

    def has_change_permission(self, request, obj=None):
        return False  # changes happen only through the lifecycle's actions

    def has_delete_permission(self, request, obj=None):
        return False

    def get_urls(self):
        wrap = self.admin_site.admin_view
        name = "requests_app_federationrequest"
        return [
            path("raise/", wrap(self.raise_view), name=f"{name}_raise"),
            path("<int:pk>/act/<str:action>/", wrap(self.action_view), name=f"{name}_act"),
            path("<int:pk>/checks/run/", wrap(self.run_checks_view), name=f"{name}_run_checks"),
            path(
                "<int:pk>/domains/remove/",
                wrap(self.domain_remove_view),
                name=f"{name}_domain_remove",
            ),
            path(
                "<int:pk>/domains/additions/<int:addition_pk>/<str:verb>/",
                wrap(self.domain_addition_view),
                name=f"{name}_domain_addition",
            ),
            path(
                "<int:pk>/remediation/<int:case_pk>/close/",
                wrap(self.remediation_close_view),
                name=f"{name}_remediation_close",
            ),
            path(
                "<int:pk>/evidence/add/", wrap(self.evidence_add_view), name=f"{name}_evidence_add"
            ),
            path(
                "<int:pk>/evidence/<int:item_pk>/<str:verb>/",
                wrap(self.evidence_view),
                name=f"{name}_evidence",
            ),
            path(
                "<int:pk>/file/<str:kind>/<int:file_pk>/", wrap(self.file_view), name=f"{name}_file"
            ),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["lifecycle_actions"] = available_actions(request.user, obj)
            context["may_add_evidence"] = may(request.user, "upload_evidence") and (
                obj.state in EVIDENCE_OPEN_STATES
            )
            context["missing_evidence"] = missing_evidence(obj) if obj.state == State.SIGNED else []
            context["may_run_checks"] = may(request.user, "run_checks")
            # Only where the service would allow one: in force, and more than one domain left.
            context["may_remove_domain"] = (
                may(request.user, "remove_domain")
                and not domain_changes.domain_removal_refusal(obj)
                and obj.domains.kept().count() > 1
            )
            addition = selectors.open_addition(obj)
            context["domain_addition"] = addition
            context["amendment"] = amendment_out_for_signature(obj)
            context["domain_addition_actions"] = _addition_actions(
                request.user, addition, amendment_sent=context["amendment"] is not None
            )
            context["offboarding_ask"] = selectors.pending_offboarding_ask(obj)
            context["review_checks_max_age_hours"] = settings.REVIEW_CHECKS_MAX_AGE_HOURS
            run = selectors.latest_check_run(obj)
            if run is not None:
                context["check_run"] = run
                context["check_domains"] = selectors.check_run_results(run)
                context["checks_worsened"] = [
                    {**item, "domain": domain_unicode(item["domain"])} for item in run.worsened
                ]
                recorded = {check.domain for check in run.domains_checked.all()}
                context["checks_waiting"] = [
                    domain.display_name
                    for domain in obj.domains.kept()
                    if domain.name not in recorded
                ]
            context["remediation_cases"] = selectors.remediation_cases(obj)
            context["may_close_remediation"] = may(request.user, "close_remediation")
            context["may_suspend"] = "suspend" in dict(context["lifecycle_actions"])
            context["history_fieldset"] = HISTORY_FIELDSET
            if request.user.has_perm("requests_app.view_auditevent"):
                events = selectors.recent_audit_events(obj, limit=AUDIT_SHOWN)
                context["audit_newest"] = events[:AUDIT_OPEN]
                context["audit_older"] = events[AUDIT_OPEN:]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "may_raise": may(request.user, "raise_on_behalf"),
            # Overdue first: the count of each kind above the list, linking to its filter.
            "overdue": [
                (key, f"{count} {singular if count == 1 else plural}")
                for key, singular, plural, count in (
                    (
                        "unsigned",
                        "unsigned agreement",
                        "unsigned agreements",
                        unsigned_overdue().count(),
                    ),
                    (
                        "evidence",
                        "request waiting for evidence",
                        "requests waiting for evidence",
                        evidence_overdue().count(),
                    ),
                )
                if count
            ],
        }
        return super().changelist_view(request, extra_context)
