"""The organisation ends its agreement itself: its SPOC or signatory asks, with a reason and a
notice date, confirms on a second page, and the NHSmail Feedback team decides."""

from django.contrib import messages
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import contact_required
from portal_kit.errors import ActionRefused
from requests_app.selectors import pending_offboarding_ask
from requests_app.services import offboarding

from . import selectors
from .forms import OffboardingAskForm
from .views import viewer_request_or_404

TEMPLATE = "portal/offboarding_ask.html"


@contact_required
@require_http_methods(["GET", "POST"])
def offboarding_ask(request, reference):
    """GET: the form; POST: the answers to check (the confirmation step), then, confirmed, the
    ask. A technical contact, or a request not federated or suspended, is refused in words."""
    req = viewer_request_or_404(request, reference)
    context = {"req": req, "pending": pending_offboarding_ask(req)}
    refusal = offboarding.offboarding_ask_refusal(req, selectors.roles_on(request.viewer, req))
    if refusal:
        return render(request, TEMPLATE, {**context, "refusal": refusal}, status=403)
    if context["pending"]:  # asked already: the page says by whom and when
        return render(request, TEMPLATE, context)
    form = OffboardingAskForm(request.POST if request.method == "POST" else None)
    confirming = False
    step = request.POST.get("step", "check")  # "change": the form again, with the answers
    if request.method == "POST" and form.is_valid():
        if step == "check":
            confirming = True  # show the answers, with what happens, before anything is asked
        elif step == "confirm":
            try:
                offboarding.request_offboarding_ask(
                    request_id=req.pk,
                    actor_email=request.viewer.email,
                    reason=form.cleaned_data["reason"],
                    notice_date=form.cleaned_data["notice_date"],
                )
            except ActionRefused as refusal:
                form.add_error(None, str(refusal))
            else:
                messages.success(
                    request,
                    "Your ask to end the agreement was sent to the NHSmail Feedback team. We "
                    "email you when they have decided.",
                )
                return redirect(reverse("portal:request", args=[req.reference]) + "#offboarding")
    return render(request, TEMPLATE, {**context, "form": form, "confirming": confirming})
