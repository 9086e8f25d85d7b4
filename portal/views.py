"""The organisation's request pages for its signed-in contacts: their requests, one request's
progress, evidence, signing, Teams set-up, re-attestation and downloads. Another organisation's
request is a 404."""

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from accounts.access import contact_required
from agreements import selectors as agreement_selectors
from agreements.models import (
    EVIDENCE_OPEN_STATES,
    REATTESTATION_ACTIVE_STATES,
    EvidenceCriterion,
    ReattestationStatus,
)
from agreements.services import evidence, signing
from agreements.services import reattestation as reattestation_services
from agreements.services.downloads import ISSUED, SIGNED, FileMissing, file_download
from portal_kit.errors import ActionRefused
from portal_kit.http import client_ip
from portal_kit.pages import attachment
from requests_app import selectors as request_selectors
from requests_app.models import (
    AGREEMENT_SENT_STATES,
    OFFBOARDING_STATES,
    ContactRole,
    SpocChangeState,
)
from requests_app.next_steps import NEXT_STEPS, OFFBOARDING_PENDING_STEP
from requests_app.selectors import current_signatory
from requests_app.services import contacts, domain_additions, domain_changes, offboarding
from requests_app.services.teams_setup import teams_setup_confirm

from . import selectors
from .forms import (
    EvidenceUploadForm,
    ReattestationAnswerForm,
    ReattestationConfirmForm,
    SignForm,
)
from .task_list import addition_task, reattestation_task, task_list


@contact_required
def home(request):
    return render(
        request,
        "portal/home.html",
        {"viewer": request.viewer, "requests": selectors.requests_for(request.viewer)},
    )


def viewer_request_or_404(request, reference):
    req = selectors.request_for(request.viewer, reference)
    if req is None:
        raise Http404("No request of your organisation has that reference.")
    return req


@contact_required
def request_detail(request, reference):
    req = viewer_request_or_404(request, reference)
    check_run = request_selectors.latest_check_run(req, completed=True)
    roles = selectors.roles_on(request.viewer, req)
    # The button and the task list link to signing only where the sign page would allow it.
    may_sign = not signing.signing_refusal(req, email=request.viewer.email)
    evidence = agreement_selectors.evidence_by_criterion(req)
    teams_setup = selectors.teams_setup_checklist(req)
    offboarding_ask = request_selectors.pending_offboarding_ask(req)
    remediation = request_selectors.open_remediation_case(req)
    reattestation_now = agreement_selectors.latest_reattestation(req)
    tasks = task_list(
        req,
        may_sign=may_sign,
        roles=roles,
        evidence=evidence,
        checks_done=check_run is not None,
        teams_setup=teams_setup,
        remediation=remediation,
    )
    if reattestation_now is not None and req.state in REATTESTATION_ACTIVE_STATES:
        tasks.append(reattestation_task(req, reattestation_now, roles=roles))
    addition = request_selectors.open_addition(req)
    amendment = agreement_selectors.amendment_out_for_signature(req)
    if addition is not None:
        tasks.append(
            addition_task(addition, amendment=amendment, roles=roles, may_sign=may_sign)
        )
    kept_domains = list(req.domains.kept())
    return render(
        request,
        "portal/request.html",
        {
            "viewer": request.viewer,
            "req": req,
            "next_step": OFFBOARDING_PENDING_STEP if offboarding_ask else NEXT_STEPS[req.state],
            "timeline": request_selectors.request_timeline(req),
            "agreement": agreement_selectors.sent_agreement(req),
            "check_run": check_run,
            "check_domains": (
                request_selectors.check_run_results(check_run, for_requester=True)
                if check_run
                else []
            ),
            "evidence": evidence,
            "tasks": tasks,
            "contacts": req.contacts.filter(removed_at__isnull=True).order_by("role", "name"),
            "roles": roles,
            "may_change_contacts": req.state in contacts.CONTACT_STATES,
            "spoc_history": selectors.spoc_history(req),
            "pending_spoc_change": req.spoc_changes.filter(state=SpocChangeState.PROPOSED).first(),
            "teams_setup": teams_setup,
            "offboarding_states": req.state in OFFBOARDING_STATES,
            "offboarding_ask": offboarding_ask,
            "may_offboard": not offboarding.offboarding_ask_refusal(req, roles),
            "kept_domains": kept_domains,
            "removed_domains": req.domains.filter(removed_at__isnull=False),
            # Remove links only where the removal page would allow one: never the last domain.
            "may_remove_domains": len(kept_domains) > 1
            and not domain_changes.domain_removal_refusal(req, roles),
            # An ask to add a domain still open, and whether the viewer may ask for one now.
            "domain_addition": addition,
            "may_add_domain": not domain_additions.domain_addition_refusal(req, roles),
            "amendment": amendment,
            "remediation": remediation,
            "evidence_open": req.state in EVIDENCE_OPEN_STATES,
            "may_sign": may_sign,
            "show_evidence": req.state in AGREEMENT_SENT_STATES,
        },
    )


@contact_required
@require_http_methods(["GET", "POST"])
def evidence_upload(request, reference, criterion_id):
    """A contact uploads evidence for one DCB1596 criterion (again, after it was returned)."""
    req = viewer_request_or_404(request, reference)
    criterion = EvidenceCriterion.objects.filter(pk=criterion_id).first()
    if criterion is None:
        raise Http404("No such criterion.")
    form = EvidenceUploadForm.for_request(request)
    if request.method == "POST" and form.is_valid():
        try:
            evidence.evidence_submit(
                request_id=req.pk,
                actor_email=request.viewer.email,
                criterion_id=criterion.pk,
                upload=form.cleaned_data["file"],
            )
        except ActionRefused as refusal:
            form.add_error("file", str(refusal))
        else:
            messages.success(request, f"Your evidence for “{criterion.title}” was received.")
            return redirect(reverse("portal:request", args=[req.reference]) + "#evidence")
    context = {
        "req": req,
        "criterion": criterion,
        "form": form,
        "upload_limit": settings.UPLOAD_MAX_BYTES,
    }
    return render(request, "portal/evidence_upload.html", context)


@contact_required
def signed_download(request, reference):
    """The signed copy (sealed when signed in the portal), for the organisation's contacts."""
    return _download(request, reference, SIGNED)


def _download(request, reference: str, kind: str):
    """A file of the viewer's request, its download in the audit log."""
    req = viewer_request_or_404(request, reference)
    try:
        download = file_download(req=req, kind=kind, actor_label=request.viewer.email)
    except FileMissing as missing:
        raise Http404(str(missing)) from None
    return attachment(download)


@contact_required
@require_http_methods(["GET", "POST"])
def sign_agreement(request, reference):
    """The signatory reads the FPA as issued and signs it; the sealed copy replaces paper."""
    req = viewer_request_or_404(request, reference)
    refusal = signing.signing_refusal(req, email=request.viewer.email)
    if refusal:
        context = {"req": req, "refusal": refusal}
        return render(request, "portal/sign.html", context, status=403)
    # The first agreement, or once federated an amended one adding a domain.
    agreement = signing.agreement_to_sign(req)
    # Pre-filled from the signatory as the SPOC named them: nothing typed twice (SC 3.3.7).
    named = current_signatory(req)  # the viewer: signing_refusal said so
    initial = {"document_sha256": agreement.pdf_sha256}
    if named:
        initial |= {"name": named.name, "job_title": named.job_title}
    form = SignForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            signing.agreement_sign(
                request_id=req.pk,
                actor_email=request.viewer.email,
                name=data["name"],
                job_title=data["job_title"],
                director_confirmed=data["director_confirmed"],
                attestations=form.attestations(),
                shown_sha256=data["document_sha256"],
                ip_address=client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            messages.success(request, "You have signed the agreement. Thank you.")
            return redirect("portal:request", reference=req.reference)
    context = {"req": req, "agreement": agreement, "form": form}
    return render(request, "portal/sign.html", context)


@contact_required
@require_POST
def teams_setup(request, reference):
    """The technical contact ticks the Teams admin centre steps they have done."""
    req = viewer_request_or_404(request, reference)
    try:
        recorded = teams_setup_confirm(
            request_id=req.pk,
            actor_email=request.viewer.email,
            steps=request.POST.getlist("steps"),
        )
    except ActionRefused as refusal:
        messages.error(request, str(refusal))
    else:
        messages.success(
            request,
            f"Recorded {len(recorded)} step{'s' if len(recorded) != 1 else ''} as done."
            if recorded
            else "Tick the steps you have done, then confirm.",
        )
    return redirect(reverse("portal:request", args=[req.reference]) + "#teams-setup")


@contact_required
def agreement_download(request, reference):
    return _download(request, reference, ISSUED)


@contact_required
def amendment_download(request, reference):
    """The amended agreement adding a domain, while it waits for its signature."""
    req = viewer_request_or_404(request, reference)
    amendment = agreement_selectors.amendment_out_for_signature(req)
    if amendment is None:
        raise Http404("No amended agreement is waiting for a signature.")
    try:
        download = file_download(
            req=req, kind=ISSUED, file_id=amendment.pk, actor_label=request.viewer.email
        )
    except FileMissing as missing:
        raise Http404(str(missing)) from None
    return attachment(download)


@contact_required
@require_http_methods(["GET", "POST"])
def reattestation(request, reference):
    """The annual re-attestation: the SPOC answers, then the signatory confirms; everyone else
    named on the request sees where it stands."""
    req = viewer_request_or_404(request, reference)
    current = agreement_selectors.latest_reattestation(req)
    if current is None:
        raise Http404("This request has no re-attestation.")
    roles = selectors.roles_on(request.viewer, req)
    criteria = list(EvidenceCriterion.objects.order_by("position", "code"))
    answer_form = confirm_form = None
    if current.status == ReattestationStatus.OPEN and ContactRole.SPOC in roles:
        answer_form = ReattestationAnswerForm.for_criteria(request, criteria=criteria)
    if current.status == ReattestationStatus.ANSWERED and ContactRole.SIGNATORY in roles:
        confirm_form = ReattestationConfirmForm(request.POST or None)
    if request.method == "POST":
        done = _reattestation_post(request, req, current, answer_form, confirm_form)
        if done:
            messages.success(request, done)
            return redirect("portal:reattestation", reference=req.reference)
    context = {
        "req": req,
        "reattestation": current,
        "answers": agreement_selectors.reattestation_answers(current),
        "contacts": req.contacts.filter(removed_at__isnull=True).order_by("role", "name"),
        "signatory": current_signatory(req),
        "answer_form": answer_form,
        "confirm_form": confirm_form,
        "form": answer_form or confirm_form,  # for the error summary
    }
    return render(request, "portal/reattestation.html", context)


def _reattestation_post(request, req, current, answer_form, confirm_form) -> str:
    """Take the step the viewer may take now; the sentence that says it was done, or ""."""
    form = answer_form or confirm_form
    if form is None:
        messages.error(request, "There is nothing for you to answer here now.")
        return ""
    if not form.is_valid():
        return ""
    try:
        if answer_form is not None:
            reattestation_services.reattestation_answer(
                reattestation_id=current.pk,
                actor_email=request.viewer.email,
                contacts_confirmed=form.cleaned_data["contacts_confirmed"],
                answers=answer_form.answers(),
                uploads=answer_form.uploads(),
            )
            return "Your answer is recorded. The signatory now confirms it."
        reattestation_services.reattestation_confirm(
            reattestation_id=current.pk,
            actor_email=request.viewer.email,
            confirmed=form.cleaned_data["confirmed"],
        )
        return "Your confirmation is recorded. The Feedback team now verifies the re-attestation."
    except ActionRefused as refusal:
        form.add_error(None, str(refusal))
        return ""
