"""The SPOC changes a federated request's domains: removes one (a form, a page to check the
answers, then the removal, which takes the domain off the allow list from the date given), or
asks to add one (checked, reviewed by the Feedback team, then an amended agreement to sign)."""

from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import contact_required
from portal_kit.errors import ActionRefused
from requests_app.services import domain_additions, domain_changes

from . import selectors
from .forms import DomainAdditionForm, DomainRemovalForm
from .views import viewer_request_or_404

TEMPLATE = "portal/domain_remove.html"


@contact_required
@require_http_methods(["GET", "POST"])
def domain_remove(request, reference, domain_id):
    """GET: the form; POST: the answers to check, then, confirmed, the removal. A contact who
    is not the SPOC, a request not in force, or its last domain is refused in words."""
    req = viewer_request_or_404(request, reference)
    domain = req.domains.kept().filter(pk=domain_id).first()
    if domain is None:
        raise Http404("That domain is not one of this request's.")
    context = {"req": req, "domain": domain}
    refusal = domain_changes.domain_removal_refusal(req, selectors.roles_on(request.viewer, req))
    if not refusal and req.domains.kept().count() == 1:
        refusal = domain_changes.last_domain_refusal(domain)
    if refusal:
        return render(request, TEMPLATE, {**context, "refusal": refusal}, status=403)
    form = DomainRemovalForm(request.POST if request.method == "POST" else None)
    confirming = False
    step = request.POST.get("step", "check")  # "change": the form again, with the answers
    if request.method == "POST" and form.is_valid():
        if step == "check":
            confirming = True
        elif step == "confirm":
            try:
                domain_changes.domain_remove_by_contact(
                    request_id=req.pk,
                    domain_id=domain.pk,
                    actor_email=request.viewer.email,
                    effective_date=form.cleaned_data["effective_date"],
                    reason=form.cleaned_data["reason"],
                )
            except ActionRefused as refusal_now:
                form.add_error(None, str(refusal_now))
            else:
                messages.success(
                    request,
                    f"{domain.display_name} is removed: it leaves NHSmail's allow list on "
                    f"{form.cleaned_data['effective_date']:%d %B %Y}. We have emailed your "
                    "requester and SPOC.",
                )
                return redirect(reverse("portal:request", args=[req.reference]) + "#domains")
    return render(request, TEMPLATE, {**context, "form": form, "confirming": confirming})


ADD_TEMPLATE = "portal/domain_add.html"


@contact_required
@require_http_methods(["GET", "POST"])
def domain_add(request, reference):
    """GET: the form; POST: the ask to add a domain, checked by the public form's rules. A
    contact who is not the SPOC, a request not federated, or one already adding a domain is
    refused in words."""
    req = viewer_request_or_404(request, reference)
    refusal = domain_additions.domain_addition_refusal(req, selectors.roles_on(request.viewer, req))
    if refusal:
        return render(request, ADD_TEMPLATE, {"req": req, "refusal": refusal}, status=403)
    form = DomainAdditionForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            addition = domain_additions.domain_addition_request(
                request_id=req.pk,
                actor_email=request.viewer.email,
                domain=form.cleaned_data["domain"],
            )
        except ActionRefused as refusal_now:
            form.add_error("domain", str(refusal_now))
        else:
            messages.success(
                request,
                f"We have your ask to add {addition.domain.display_name}. Its domain checks are "
                "running; the NHSmail Feedback team then reviews it, and we email you.",
            )
            return redirect(reverse("portal:request", args=[req.reference]) + "#domains")
    return render(request, ADD_TEMPLATE, {"req": req, "form": form})
