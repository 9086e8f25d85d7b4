"""Contacts' support requests: raise one, follow it, reply. Another organisation's is a 404."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import contact_required
from portal_kit.errors import ActionRefused

from . import selectors
from .forms import ReplyForm, SupportRequestForm
from .services import support_requests


@contact_required(signed_out_message=support_requests.who_may_raise)
def support_list(request):
    return render(
        request,
        "support/list.html",
        {
            "support_requests": selectors.support_requests_for(request.viewer),
            "may_raise": selectors.requests_open_to_support(request.viewer.email).exists(),
        },
    )


@contact_required(signed_out_message=support_requests.who_may_raise)
@require_http_methods(["GET", "POST"])
def support_new(request):
    eligible = list(selectors.requests_open_to_support(request.viewer.email))
    if not eligible:
        refusal = support_requests.who_may_raise()
        return render(request, "support/new.html", {"refusal": refusal}, status=403)
    form = SupportRequestForm(request.POST or None, requests=eligible)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            support = support_requests.support_raise(
                request_id=data["request"],
                actor_email=request.viewer.email,
                category=data["category"],
                description=data["description"],
                affected_users=data["affected_users"],
                started_on=data["started_on"],
                own_it_tried=data["own_it_tried"],
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("support:detail", reference=support.reference)
    return render(request, "support/new.html", {"form": form})


@contact_required(signed_out_message=support_requests.who_may_raise)
@require_http_methods(["GET", "POST"])
def support_detail(request, reference):
    support = selectors.support_request_for(request.viewer, reference)
    if support is None:
        raise Http404("No support request of your organisation has that reference.")
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            support_requests.support_contact_reply(
                support_id=support.pk,
                actor_email=request.viewer.email,
                body=form.cleaned_data["body"],
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("support:detail", reference=reference)
    return render(
        request,
        "support/detail.html",
        {"support": support, "replies": support.replies.all(), "form": form},
    )
