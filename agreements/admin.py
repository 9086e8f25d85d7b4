"""The Feedback team's workbench: a request with its agreement, evidence and audit log.

It lives here, not in requests_app, because its actions call agreement services and
requests_app never imports agreements.
"""

from pathlib import PurePath

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST
from django_fsm import can_proceed

from requests_app import check_runs, selectors
from requests_app import services as request_services
from requests_app.audit import audit
from requests_app.errors import ActionRefused
from requests_app.forms import FederateForm, RaiseOnBehalfForm, ReasonForm, ReviewForm
from requests_app.models import (
    Contact,
    FederationRequest,
    RequestedDomain,
    TeamsSetupConfirmation,
    domain_unicode,
)
from requests_app.permissions import may

from . import reminders, services
from .forms import EvidenceForm, SignatureForm, UploadForm
from .models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus

VIEW_PERMISSION = "requests_app.view_federationrequest"
EVIDENCE_TYPES = {".pdf": "application/pdf", ".png": "image/png", ".jpg": "image/jpeg"}
# The change page shows the newest audit events; the audit log's own list has them all.
AUDIT_SHOWN = 50
# Seeing a request is not seeing its agreement or evidence: the service desk may do the first.
FILE_PERMISSIONS = {
    "agreement": "agreements.view_agreement",
    "signed": "agreements.view_agreement",
    "evidence": "agreements.view_evidenceitem",
}


def _review(req, user, data):
    if data["decision"] == "reject":
        request_services.request_reject(request_id=req.pk, actor=user, reason=data["notes"])
        return f"{req.reference} was rejected; the requester has been emailed."
    request_services.request_review(request_id=req.pk, actor=user, notes=data["notes"])
    return f"{req.reference} is reviewed. Send the agreement when you are ready."


def _send(req, user, data):
    services.agreement_issue(request_id=req.pk, actor=user)
    return f"The agreement for {req.reference} is being rendered; it is emailed as soon as it is."


def _sign(req, user, data):
    # SignatureForm's fields are the service's keyword arguments.
    services.request_record_signature(request_id=req.pk, actor=user, **data)
    return f"{req.reference} is signed. Verify the evidence next."


def _verify(req, user, data):
    services.request_verify_evidence(request_id=req.pk, actor=user)
    return f"The evidence for {req.reference} is verified."


def _federate(req, user, data):
    request_services.request_federate(
        request_id=req.pk, actor=user, effective_date=data["effective_date"]
    )
    return f"{req.reference} is federated: its domains are on the allow list."


def _reject(req, user, data):
    request_services.request_reject(request_id=req.pk, actor=user, reason=data["reason"])
    return f"{req.reference} was rejected."


def _withdraw(req, user, data):
    request_services.request_withdraw(request_id=req.pk, actor=user, reason=data["reason"])
    return f"{req.reference} was withdrawn."


# action: (button label, form class or None, handler, what the confirmation page says)
ACTIONS = {
    "review": (
        "Review",
        ReviewForm,
        _review,
        "Record whether the domains meet the initial review criteria.",
    ),
    "send_agreement": (
        "Send the agreement (FPA)",
        None,
        _send,
        "The agreement is rendered "
        "as a PDF and emailed with the DCB1596 criteria to the requester and SPOC.",
    ),
    "record_signature": (
        "Record the signed agreement",
        SignatureForm,
        _sign,
        "Upload the copy the organisation returned, signed by a Director-level signatory.",
    ),
    "verify_evidence": (
        "Mark evidence verified",
        None,
        _verify,
        "Every required DCB1596 criterion has verified evidence.",
    ),
    "federate": (
        "Federate",
        FederateForm,
        _federate,
        "The request's domains join NHSmail's allow list from the effective date.",
    ),
    "reject": ("Reject", ReasonForm, _reject, "The requester sees the reason."),
    "withdraw": (
        "Withdraw",
        ReasonForm,
        _withdraw,
        "Withdraw the request on the organisation's behalf.",
    ),
}


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
            return queryset.filter(pk__in=reminders.unsigned_overdue().values("pk"))
        if self.value() == "evidence":
            return queryset.filter(pk__in=reminders.evidence_overdue().values("pk"))
        return queryset


def available_actions(user, req: FederationRequest) -> list[tuple[str, str]]:
    """(action, label) for every action this user may take on this request now."""
    found = []
    for action, (label, *_rest) in ACTIONS.items():
        if not may(user, action) or not can_proceed(getattr(req, action), check_conditions=False):
            continue
        if action == "send_agreement" and req.agreements.in_preparation().exists():
            continue  # already being rendered
        found.append((action, label))
    return found


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class RequestedDomainInline(ReadOnlyInline):
    model = RequestedDomain
    fields = ("display_name", "name", "is_live")
    readonly_fields = fields
    verbose_name_plural = "domains"


class ContactInline(ReadOnlyInline):
    """Every contact the request has had: a removed one shows when (the history of SPOCs)."""

    model = Contact
    fields = ("role", "name", "job_title", "email", "phone", "added_at", "removed_at")
    readonly_fields = fields


class TeamsSetupInline(ReadOnlyInline):
    """The Teams admin centre steps the organisation confirmed done after federation."""

    model = TeamsSetupConfirmation
    fields = ("step", "confirmed_by", "confirmed_at")
    readonly_fields = fields
    verbose_name_plural = "Teams set-up confirmed by the organisation"


class AgreementInline(ReadOnlyInline):
    model = Agreement

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("request")

    fields = (
        "template_version",
        "requested_at",
        "rendered_at",
        "sent_at",
        "issued_pdf",
        "signed_pdf",
        "signatory_name",
        "signatory_job_title",
        "signed_on",
        "received_at",
        "signature_check",
        "failure",
    )
    readonly_fields = fields

    @admin.display(description="issued FPA")
    def issued_pdf(self, agreement):
        if not agreement.pdf:
            return "being rendered" if not agreement.failure else "—"
        return _download_link(agreement, "agreement", agreement.pdf_sha256)

    @admin.display(description="signed copy")
    def signed_pdf(self, agreement):
        if not agreement.signed_copy:
            return "—"
        return _download_link(agreement, "signed", agreement.signed_copy_sha256)


def _download_link(agreement, kind: str, sha256: str):
    url = reverse(
        "admin:requests_app_federationrequest_file", args=[agreement.request_id, kind, agreement.pk]
    )
    return format_html('<a href="{}">Download</a><br><small>SHA-256 {}</small>', url, sha256)


class EvidenceItemInline(ReadOnlyInline):
    model = EvidenceItem

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("criterion", "request", "verified_by")

    fields = (
        "criterion",
        "evidence_file",
        "uploaded_by_whom",
        "domain_checks",
        "status",
        "uploaded_at",
        "verified_by",
        "verified_at",
        "returned_reason",
        "notes",
        "review",
    )
    readonly_fields = fields

    @admin.display(description="file")
    def evidence_file(self, item):
        url = reverse(
            "admin:requests_app_federationrequest_file", args=[item.request_id, "evidence", item.pk]
        )
        return format_html('<a href="{}">{}</a>', url, item.original_filename)

    @admin.display(description="uploaded by")
    def uploaded_by_whom(self, item):
        return item.uploaded_by_email or item.uploaded_by or "—"

    @admin.display(description="domain checks")
    def domain_checks(self, item):
        """What the latest completed domain checks say about this criterion (DMARC, SPF, ...)."""
        wanted = item.criterion.check_ids
        run = selectors.latest_check_run(item.request, completed=True) if wanted else None
        if run is None:
            return "—"
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 (a fixed separator)
            "{}: {} {} ({})",
            (
                (check.display_name, result["id"], result["status"], result.get("summary", ""))
                for check in run.domains_checked.all()
                for result in check.results
                if result.get("id") in wanted
            ),
        )

    @admin.display(description="review")
    def review(self, item):
        if item.status != EvidenceStatus.PENDING or item.request.state != "signed":
            return "—"
        return format_html_join(
            " · ",
            '<a href="{}">{}</a>',
            (
                (
                    reverse(
                        "admin:requests_app_federationrequest_evidence",
                        args=[item.request_id, item.pk, verb],
                    ),
                    label,
                )
                for verb, label in (("verify", "Verify"), ("return", "Return for rework"))
            ),
        )


@admin.register(FederationRequest)
class FederationRequestAdmin(admin.ModelAdmin):
    list_display = ("reference", "organisation", "domain_list", "state", "channel", "created_at")
    list_filter = (
        OverdueFilter,
        "state",
        "channel",
        ("created_at", admin.DateFieldListFilter),
    )
    search_fields = ("reference", "organisation__name", "organisation__ods_code", "domains__name")
    ordering = ("-created_at",)
    date_hierarchy = None
    list_per_page = 50
    show_full_result_count = False  # a second COUNT over every row is slow at scale
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "reference",
                    "state",
                    "organisation",
                    "channel",
                    "raised_by",
                    "raised_on_behalf_reason",
                    "requester_name",
                    "requester_email",
                    "justification",
                    "created_at",
                )
            },
        ),
        (
            "Progress",
            {
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
                )
            },
        ),
    )
    readonly_fields = [f for _, options in fieldsets for f in options["fields"]]
    inlines = [
        RequestedDomainInline,
        ContactInline,
        AgreementInline,
        EvidenceItemInline,
        TeamsSetupInline,
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
        return ", ".join(d.display_name for d in req.domains.all())

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
                obj.state in ("fpa_sent", "signed")
            )
            context["missing_evidence"] = obj.missing_evidence() if obj.state == "signed" else []
            context["may_run_checks"] = may(request.user, "run_checks")
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
                    for domain in obj.domains.all()
                    if domain.name not in recorded
                ]
            if request.user.has_perm("requests_app.view_auditevent"):
                context["audit_events"] = selectors.recent_audit_events(obj, limit=AUDIT_SHOWN)
                context["audit_shown"] = AUDIT_SHOWN
        return super().render_change_form(request, context, add, change, form_url, obj)

    # -- views behind the buttons -------------------------------------------------------------

    def _request_or_404(self, request, pk):
        if not request.user.has_perm(VIEW_PERMISSION):
            raise PermissionDenied
        return get_object_or_404(FederationRequest, pk=pk)

    def _render(self, request, req, *, title, form, explanation, submit):
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": req,
            "title": title,
            "form": form,
            "explanation": explanation,
            "submit_label": submit,
        }
        return TemplateResponse(
            request, "admin/requests_app/federationrequest/action.html", context
        )

    def _back(self, req):
        return redirect("admin:requests_app_federationrequest_change", req.pk)

    def action_view(self, request, pk, action):
        req = self._request_or_404(request, pk)
        if action not in ACTIONS:
            raise Http404("No such action.")
        label, form_class, handler, explanation = ACTIONS[action]
        if not may(request.user, action):
            messages.error(request, f"You do not have permission to do this: {label.lower()}.")
            return self._back(req)
        form = None
        if form_class:
            if issubclass(form_class, UploadForm):
                form = form_class.for_request(request)
            else:
                form = form_class(request.POST) if request.method == "POST" else form_class()
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                done = handler(req, request.user, form.cleaned_data if form else {})
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
            else:
                messages.success(request, done)
            return self._back(req)
        return self._render(
            request,
            req,
            title=f"{label}: {req.reference}",
            form=form,
            explanation=explanation,
            submit=label,
        )

    @method_decorator(require_POST)
    def run_checks_view(self, request, pk):
        req = self._request_or_404(request, pk)
        try:
            check_runs.check_run_start(request_id=req.pk, actor=request.user)
        except ActionRefused as refusal:
            messages.error(request, str(refusal))
        else:
            messages.success(
                request,
                f"The domain checks of {req.reference} are running again; "
                "reload this page in a minute to see the results.",
            )
        return self._back(req)

    def evidence_add_view(self, request, pk):
        req = self._request_or_404(request, pk)
        form = EvidenceForm.for_request(request)
        if request.method == "POST" and form.is_valid():
            try:
                services.evidence_add(
                    request_id=req.pk,
                    actor=request.user,
                    criterion_id=form.cleaned_data["criterion"].pk,
                    upload=form.cleaned_data["file"],
                    notes=form.cleaned_data["notes"],
                )
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
            else:
                messages.success(request, "The evidence was added.")
            return self._back(req)
        return self._render(
            request,
            req,
            title=f"Add evidence: {req.reference}",
            form=form,
            explanation="Evidence the organisation sent for one DCB1596 criterion.",
            submit="Add evidence",
        )

    def evidence_view(self, request, pk, item_pk, verb):
        req = self._request_or_404(request, pk)
        item = get_object_or_404(EvidenceItem, pk=item_pk, request=req)
        if verb not in ("verify", "return"):
            raise Http404("No such action.")
        form = None
        if verb == "return":
            form = ReasonForm(request.POST) if request.method == "POST" else ReasonForm()
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                if verb == "verify":
                    services.evidence_verify(item_id=item.pk, actor=request.user)
                else:
                    services.evidence_return(
                        item_id=item.pk, actor=request.user, reason=form.cleaned_data["reason"]
                    )
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
            else:
                messages.success(
                    request,
                    f"Evidence for “{item.criterion}” "
                    f"{'verified' if verb == 'verify' else 'returned for rework'}.",
                )
            return self._back(req)
        title = "Verify evidence" if verb == "verify" else "Return evidence for rework"
        return self._render(
            request,
            req,
            title=f"{title}: {item.criterion}",
            form=form,
            explanation=f"{item.original_filename}, uploaded {item.uploaded_at:%d %B %Y}.",
            submit=title,
        )

    def file_view(self, request, pk, kind, file_pk):
        req = self._request_or_404(request, pk)
        permission = FILE_PERMISSIONS.get(kind)
        if permission is None:
            raise Http404("No such file.")
        if not request.user.has_perm(permission):
            raise PermissionDenied
        content_type = "application/pdf"
        if kind == "evidence":
            item = get_object_or_404(EvidenceItem, pk=file_pk, request=req)
            # The stored name's suffix is the kind the upload was proved to be.
            suffix = PurePath(item.file.name).suffix or ".pdf"
            content_type = EVIDENCE_TYPES.get(suffix, "application/octet-stream")
            field, what = item.file, "evidence"
            name = f"{req.reference}-evidence-{item.pk}{suffix}"
        else:
            agreement = get_object_or_404(Agreement, pk=file_pk, request=req)
            field = agreement.pdf if kind == "agreement" else agreement.signed_copy
            name = agreement.download_name.replace(
                ".pdf", "-signed.pdf" if kind == "signed" else ".pdf"
            )
            what = "issued FPA" if kind == "agreement" else "signed FPA"
        if not field:
            raise Http404("That file does not exist yet.")
        audit(req, request.user, "file.downloaded", message=f"{what}: {name}")
        return FileResponse(
            field.open("rb"), as_attachment=True, filename=name, content_type=content_type
        )

    def raise_view(self, request):
        if not may(request.user, "raise_on_behalf"):
            raise PermissionDenied
        form = RaiseOnBehalfForm(request.POST) if request.method == "POST" else RaiseOnBehalfForm()
        if request.method == "POST" and form.is_valid():
            try:
                req = request_services.request_submit(
                    actor=request.user, **form.service_arguments()
                )
            except ActionRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(
                    request,
                    f"{req.reference} was raised on the organisation's "
                    "behalf; the requester and SPOC have been emailed.",
                )
                return self._back(req)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Raise a request on an organisation's behalf",
            "form": form,
            "explanation": "For organisations without an NHSmail presence. The same domain "
            "rules apply as on the public form.",
            "submit_label": "Raise the request",
        }
        return TemplateResponse(
            request, "admin/requests_app/federationrequest/action.html", context
        )

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
                        reminders.unsigned_overdue().count(),
                    ),
                    (
                        "evidence",
                        "request waiting for evidence",
                        "requests waiting for evidence",
                        reminders.evidence_overdue().count(),
                    ),
                )
                if count
            ],
        }
        return super().changelist_view(request, extra_context)


@admin.register(EvidenceCriterion)
class EvidenceCriterionAdmin(admin.ModelAdmin):
    list_display = ("position", "title", "required")
    list_display_links = ("title",)
    ordering = ("position",)

    def has_delete_permission(self, request, obj=None):
        return False  # evidence refers to it; mark it not required instead
