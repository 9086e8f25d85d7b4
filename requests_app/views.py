"""The public pages: start, request form, confirmation, and the private status page."""

from django.conf import settings
from django.db import DatabaseError
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from portal_kit import throttle
from portal_kit.errors import ActionRefused
from portal_kit.http import client_ip
from portal_kit.pages import private_page, too_many

from . import selectors
from .forms import RequestForm, WithdrawForm
from .models import CLOSED_STATES, OPEN_STATES
from .next_steps import NEXT_STEPS
from .services import lifecycle
from .status_page import status_context

SESSION_LAST_SUBMISSION = "last_submission"


def start(request):
    return render(request, "requests_app/start.html")


@require_http_methods(["GET", "POST"])
def request_form(request):
    form = RequestForm(request.POST) if request.method == "POST" else RequestForm()
    if request.method == "POST" and not throttle.allow(
        f"request-form:{client_ip(request)}",
        limit=settings.REQUEST_FORM_POSTS_PER_HOUR,
        window_seconds=3600,
    ):
        return too_many(request)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["requester_email"].lower()
        if not throttle.allow(
            f"request-email:{email}",
            limit=settings.REQUESTS_PER_EMAIL_PER_DAY,
            window_seconds=24 * 3600,
        ):
            return too_many(request)
        try:
            req = lifecycle.request_submit(**form.service_arguments())
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            request.session[SESSION_LAST_SUBMISSION] = req.status_token
            try:
                # Saved now rather than by the middleware, so that a database gone since the
                # commit is met here and not answered with a 500.
                request.session.save()
            except DatabaseError:
                # The request is saved and its email queued (the outbox): the requester sees
                # success, on the status page the email also links to.
                request.session.modified = False
                return redirect("requests_app:status", req.status_token)
            return redirect("requests_app:confirmation")
    return render(request, "requests_app/request_form.html", {"form": form})


@private_page
def confirmation(request):
    token = request.session.get(SESSION_LAST_SUBMISSION)
    req = selectors.request_by_status_token(token) if token else None
    if req is None:
        return redirect("requests_app:start")
    return render(request, "requests_app/confirmation.html", {"req": req})


def _request_or_404(token: str):
    req = selectors.request_by_status_token(token)
    if req is None:
        raise Http404("No request has that status link.")
    return req


@private_page
def status(request, token):
    req = _request_or_404(token)
    check_run = selectors.latest_check_run(req, completed=True)
    return render(
        request,
        "requests_app/status.html",
        {
            "check_run": check_run,
            "check_domains": (
                selectors.check_run_results(check_run, for_requester=True) if check_run else []
            ),
            "req": req,
            "timeline": selectors.request_timeline(req),
            "next_step": NEXT_STEPS[req.state],
            "can_withdraw": req.state in OPEN_STATES,
            "is_closed": req.state in CLOSED_STATES,
            **status_context(req),
        },
    )


@private_page
@require_http_methods(["GET", "POST"])
def withdraw(request, token):
    req = _request_or_404(token)
    form = WithdrawForm(request.POST) if request.method == "POST" else WithdrawForm()
    if request.method == "POST" and form.is_valid():
        try:
            lifecycle.request_withdraw(
                request_id=req.pk, actor=None, reason=form.cleaned_data["reason"]
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("requests_app:status", token=token)
    return render(request, "requests_app/withdraw.html", {"req": req, "form": form})
