"""Contacts' support requests: raise one, follow it, reply. Another organisation's is a 404."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.access import contact_required
from requests_app.errors import ActionRefused

from . import selectors, services
from .forms import ReplyForm, SupportRequestForm


@contact_required(signed_out_message=services.who_may_raise)
def support_list(request):
    return render(
        request,
        "support/list.html",
        {
            "support_requests": selectors.support_requests_for(request.viewer),
            "may_raise": services.requests_open_to_support(request.viewer.email).exists(),
        },
    )


@contact_required(signed_out_message=services.who_may_raise)
@require_http_methods(["GET", "POST"])
def support_new(request):
    eligible = list(services.requests_open_to_support(request.viewer.email))
    if not eligible:
        refusal = services.who_may_raise()
        return render(request, "support/new.html", {"refusal": refusal}, status=403)
    form = SupportRequestForm(request.POST or None, requests=eligible)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            support = services.support_raise(
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


@contact_required(signed_out_message=services.who_may_raise)
@require_http_methods(["GET", "POST"])
def support_detail(request, reference):
    support = selectors.support_request_for(request.viewer, reference)
    if support is None:
        raise Http404("No support request of your organisation has that reference.")
    form = ReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.support_contact_reply(
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
