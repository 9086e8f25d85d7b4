"""The pages behind the workbench's buttons: each checks who asks, shows a form, calls one
service and says what happened (a refusal is a message, never a 500)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from agreements.models import EvidenceItem
from agreements.services import amendments, evidence
from agreements.services.downloads import EVIDENCE, ISSUED, SIGNED, FileMissing, file_download
from federation_portal.permissions import may
from portal_kit.errors import ActionRefused, AnswerNeeded
from portal_kit.forms import UploadForm
from portal_kit.pages import attachment
from requests_app.forms import RaiseOnBehalfForm
from requests_app.models import DomainAddition, FederationRequest, RemediationCase
from requests_app.services import (
    check_runs,
    domain_additions,
    domain_changes,
    lifecycle,
    remediation,
)

from .actions import ACTIONS
from .forms import (
    AmendmentSignatureForm,
    DomainAdditionApproveForm,
    DomainRemoveForm,
    EvidenceForm,
    ReasonForm,
)

VIEW_PERMISSION = "requests_app.view_federationrequest"
# Seeing a request is not seeing its agreement or evidence: the service desk may do the first.
FILE_PERMISSIONS = {
    ISSUED: "agreements.view_agreement",
    SIGNED: "agreements.view_agreement",
    EVIDENCE: "agreements.view_evidenceitem",
}
ACTION_TEMPLATE = "admin/requests_app/federationrequest/action.html"
# A domain asked to be added: verb -> (label, permission, form, what the page says).
ADDITION_VERBS = {
    "approve": (
        "Approve the domain",
        "approve_domain_addition",
        DomainAdditionApproveForm,
        "The domain's checks are judged as a review's. An amended agreement listing every domain "
        "is rendered and emailed to the organisation; its signatory signs it the same way as the "
        "first, and the domain then joins the allow list. The request stays federated.",
    ),
    "refuse": (
        "Refuse the domain",
        "refuse_domain_addition",
        ReasonForm,
        "The domain is not added and is let go; the organisation is emailed the reason.",
    ),
    "cancel": (
        "Cancel the addition",
        "refuse_domain_addition",
        ReasonForm,
        "The approval is withdrawn: the amended agreement can no longer be signed, the domain "
        "is let go and the organisation is emailed the reason (for example, the agreement "
        "could not be prepared). The SPOC may ask again.",
    ),
    "record_signature": (
        "Record the signed amended agreement",
        "record_signature",
        AmendmentSignatureForm,
        "Upload the amended agreement the organisation returned, signed by a Director-level "
        "signatory. The domain then joins the allow list from today.",
    ),
}


class WorkbenchViews:
    """Mixed into FederationRequestAdmin, whose get_urls routes to these."""

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
        return TemplateResponse(request, ACTION_TEMPLATE, context)

    def _back(self, req):
        return redirect("admin:requests_app_federationrequest_change", req.pk)

    def _form_page(self, request, req, *, form, act, title, explanation, submit):
        """A staff action's page: its form, and on a valid POST act(answers), which returns
        what was done in words. A refusal goes back to the request with its sentence; an answer
        still missing (AnswerNeeded) shows the form again with what was typed."""
        if request.method == "POST" and (form is None or form.is_valid()):
            try:
                done = act(form.cleaned_data if form else {})
            except AnswerNeeded as refusal:
                assert form is not None  # only a form's answers can be missing
                form.add_error(None, str(refusal))
            except ActionRefused as refusal:
                messages.error(request, str(refusal))
                return self._back(req)
            else:
                messages.success(request, done)
                return self._back(req)
        return self._render(
            request, req, title=title, form=form, explanation=explanation, submit=submit
        )

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
        return self._form_page(
            request,
            req,
            form=form,
            act=lambda answers: handler(req, request.user, answers),
            title=f"{label}: {req.reference}",
            explanation=explanation(req) if callable(explanation) else explanation,
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

    def domain_remove_view(self, request, pk):
        """Staff remove one domain of a federated or suspended request, from a date, with a
        reason the organisation is emailed."""
        req = self._request_or_404(request, pk)
        if not may(request.user, "remove_domain"):
            messages.error(request, "You do not have permission to remove a request's domains.")
            return self._back(req)
        domains = list(req.domains.kept())
        data = request.POST if request.method == "POST" else None
        form = DomainRemoveForm(data, domains=domains)

        def remove(answers) -> str:
            removed = domain_changes.domain_remove(
                request_id=req.pk,
                domain_id=answers["domain"],
                actor=request.user,
                effective_date=answers["effective_date"],
                reason=answers["reason"],
            )
            return (
                f"Removed {removed.display_name} from {req.reference}: it leaves the allow "
                f"list from {removed.removed_from:%d %B %Y}. Apply the allow list's change set "
                "to the tenant."
            )

        return self._form_page(
            request,
            req,
            form=form,
            act=remove,
            title=f"Remove a domain: {req.reference}",
            explanation="The domain leaves the allow list from the date given and stays "
            "recorded on the request; the agreement stands for the other domains. The "
            "organisation is emailed the reason. The last domain cannot be removed: that is "
            "offboarding.",
            submit="Remove the domain",
        )

    def domain_addition_view(self, request, pk, addition_pk, verb):
        """Staff approve a domain the SPOC asked to add (an amended agreement goes out for
        signature), refuse it with a reason, or record its amended agreement signed."""
        req = self._request_or_404(request, pk)
        addition = get_object_or_404(
            DomainAddition.objects.select_related("domain"), pk=addition_pk, request=req
        )
        if verb not in ADDITION_VERBS:
            raise Http404("No such action.")
        label, permission, form_class, explanation = ADDITION_VERBS[verb]
        if not may(request.user, permission):
            messages.error(request, f"You do not have permission to do this: {label.lower()}.")
            return self._back(req)
        if issubclass(form_class, AmendmentSignatureForm):
            form = form_class.for_request(request)
        else:
            form = form_class(request.POST) if request.method == "POST" else form_class()
        name = addition.domain.display_name

        def act(answers) -> str:
            if verb == "approve":
                amendments.domain_addition_approve(
                    addition_id=addition.pk,
                    actor=request.user,
                    notes=answers["notes"],
                    override_reason=answers["override_reason"],
                )
                return (
                    f"Adding {name} is approved: the amended agreement is being rendered and is "
                    "emailed for signature as soon as it is."
                )
            if verb == "refuse":
                domain_additions.domain_addition_refuse(
                    addition_id=addition.pk, actor=request.user, reason=answers["reason"]
                )
                return (
                    f"Refused: {name} is not added; the organisation has been emailed the reason."
                )
            if verb == "cancel":
                domain_additions.domain_addition_cancel(
                    addition_id=addition.pk, actor=request.user, reason=answers["reason"]
                )
                return (
                    f"Cancelled: {name} is not added; the organisation has been emailed the "
                    "reason."
                )
            amendments.amendment_record_signature(
                addition_id=addition.pk, actor=request.user, **answers
            )
            return (
                f"The amended agreement is signed: {name} is on the allow list from today. "
                "Apply the allow list's change set to the tenant."
            )

        return self._form_page(
            request,
            req,
            form=form,
            act=act,
            title=f"{label}: {name}, {req.reference}",
            explanation=explanation,
            submit=label,
        )

    def remediation_close_view(self, request, pk, case_pk):
        """Staff close an open remediation case with a reason the organisation is told."""
        req = self._request_or_404(request, pk)
        case = get_object_or_404(RemediationCase, pk=case_pk, request=req)
        if not may(request.user, "close_remediation"):
            messages.error(request, "You do not have permission to close remediation cases.")
            return self._back(req)
        form = ReasonForm(request.POST) if request.method == "POST" else ReasonForm()

        def close(answers) -> str:
            remediation.remediation_close(
                case_id=case.pk, actor=request.user, reason=answers["reason"]
            )
            return (
                f"The remediation case of {req.reference} is closed; the organisation is "
                "emailed the reason."
            )

        return self._form_page(
            request,
            req,
            form=form,
            act=close,
            title=f"Close the remediation case: {req.reference}",
            explanation="Close the case although the checks do not call it fixed (for example, "
            "the change was agreed with the team). The organisation is emailed the reason; a "
            "later worsening opens a new case.",
            submit="Close the case",
        )

    def evidence_add_view(self, request, pk):
        req = self._request_or_404(request, pk)

        def add(answers) -> str:
            evidence.evidence_add(
                request_id=req.pk,
                actor=request.user,
                criterion_id=answers["criterion"].pk,
                upload=answers["file"],
                notes=answers["notes"],
            )
            return "The evidence was added."

        return self._form_page(
            request,
            req,
            form=EvidenceForm.for_request(request),
            act=add,
            title=f"Add evidence: {req.reference}",
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

        def act(answers) -> str:
            if verb == "verify":
                evidence.evidence_verify(item_id=item.pk, actor=request.user)
                return f"Evidence for “{item.criterion}” verified."
            evidence.evidence_return(item_id=item.pk, actor=request.user, reason=answers["reason"])
            return f"Evidence for “{item.criterion}” returned for rework."

        title = "Verify evidence" if verb == "verify" else "Return evidence for rework"
        return self._form_page(
            request,
            req,
            form=form,
            act=act,
            title=f"{title}: {item.criterion}",
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
        try:
            download = file_download(req=req, kind=kind, file_id=file_pk, actor=request.user)
        except FileMissing as missing:
            raise Http404(str(missing)) from None
        return attachment(download)

    def raise_view(self, request):
        if not may(request.user, "raise_on_behalf"):
            raise PermissionDenied
        form = RaiseOnBehalfForm(request.POST) if request.method == "POST" else RaiseOnBehalfForm()
        if request.method == "POST" and form.is_valid():
            try:
                req = lifecycle.request_submit(actor=request.user, **form.service_arguments())
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
        return TemplateResponse(request, ACTION_TEMPLATE, context)
