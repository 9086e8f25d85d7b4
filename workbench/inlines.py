"""What the request's change page shows below its fields: domains, contacts, the agreement, the
evidence with its review links, the Teams set-up the organisation confirmed, and its asks to end
the agreement."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from agreements.models import Agreement, EvidenceItem, EvidenceStatus
from agreements.services.downloads import EVIDENCE, ISSUED, SIGNED
from agreements.services.evidence import evidence_under_review
from portal_kit.admin import ReadOnlyAdminMixin
from requests_app import selectors
from requests_app.models import (
    Contact,
    OffboardingAsk,
    RequestedDomain,
    TeamsSetupConfirmation,
)


class ReadOnlyInlineMixin(ReadOnlyAdminMixin):
    extra = 0
    can_delete = False
    show_change_link = False


class ReadOnlyInline(ReadOnlyInlineMixin, admin.TabularInline):
    pass


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


class OffboardingAskInline(ReadOnlyInline):
    """Every ask the organisation made to end its agreement, and what the team decided."""

    model = OffboardingAsk
    fields = (
        "asked_by_email",
        "asked_at",
        "reason",
        "notice_date",
        "decision",
        "decided_by",
        "decided_at",
        "decline_reason",
    )
    readonly_fields = fields
    verbose_name_plural = "asks to end the agreement (offboarding)"


class AgreementInline(ReadOnlyInlineMixin, admin.StackedInline):
    """Stacked: an agreement has a dozen facts, each read on its own line."""

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
        return _download_link(agreement, ISSUED, agreement.pdf_sha256)

    @admin.display(description="signed copy")
    def signed_pdf(self, agreement):
        if not agreement.signed_copy:
            return "—"
        return _download_link(agreement, SIGNED, agreement.signed_copy_sha256)


def _download_link(agreement, kind: str, sha256: str):
    url = reverse(
        "admin:requests_app_federationrequest_file", args=[agreement.request_id, kind, agreement.pk]
    )
    # Short on the page, the whole fingerprint one click away (it would wrap every few letters).
    return format_html(
        '<a href="{}">Download</a><details><summary>SHA-256 {}…</summary><code>{}</code></details>',
        url,
        sha256[:12],
        sha256,
    )


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
            "admin:requests_app_federationrequest_file", args=[item.request_id, EVIDENCE, item.pk]
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
        # Reviewed once signed, or once federated when it came with a re-attestation.
        if item.status != EvidenceStatus.PENDING or not evidence_under_review(item.request, item):
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
