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
from .next_steps import NEXT_STEPS, OFFBOARDING_PENDING_STEP
from .services import lifecycle, submissions
from .status_page import status_context

SESSION_LAST_SUBMISSION = "last_submission"
SESSION_PENDING_SUBMISSION = "pending_submission"


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
        submission = submissions.submission_receive(**form.service_arguments())
        if not _remembered(request, SESSION_PENDING_SUBMISSION, submission.pk):
            # The answers are saved and the link queued (the outbox): the requester is told to
            # check their email, though this browser cannot ask for the link again.
            return _check_email_page(request, submission)
        return redirect("requests_app:check_email")
    return render(request, "requests_app/request_form.html", {"form": form})


@private_page
@require_http_methods(["GET", "POST"])
def check_email(request):
    """After the form: the link to confirm the address is on its way; it can be sent again."""
    submission = selectors.pending_submission(request.session.get(SESSION_PENDING_SUBMISSION))
    if submission is None:
        return redirect("requests_app:start")
    problem, resent = "", False
    if request.method == "POST":
        if not throttle.allow(
            f"confirm:{client_ip(request)}",
            limit=settings.CONFIRM_POSTS_PER_IP_PER_HOUR,
            window_seconds=3600,
        ):
            return too_many(request)
        try:
            submissions.submission_resend(submission_id=submission.pk)
        except ActionRefused as refusal:
            problem = str(refusal)
        else:
            resent = True
    return _check_email_page(request, submission, problem=problem, resent=resent)


def _check_email_page(request, submission, *, problem: str = "", resent: bool = False):
    return render(
        request,
        "requests_app/check_email.html",
        {
            "submission": submission,
            "hours": settings.REQUESTER_CONFIRM_HOURS,
            "problem": problem,
            "resent": resent,
        },
        status=400 if problem else 200,
    )


def _remembered(request, key: str, value) -> bool:
    """Keep value in the session, saved now rather than by the middleware, so that a database
    gone since the service committed is met here and the person sees what was done, not a 500.
    The request made replaces the submission it came from."""
    try:
        if key == SESSION_LAST_SUBMISSION:
            request.session.pop(SESSION_PENDING_SUBMISSION, None)
        request.session[key] = value
        request.session.save()
    except DatabaseError:
        # An empty session in its place: the middleware (which saves on every request) then
        # has nothing to write.
        request.session = request.session.__class__()
        return False
    return True


@private_page
@require_http_methods(["GET", "POST"])
def confirm_email(request, secret):
    """GET only shows a button (mail scanners open links); the POST sends the request."""
    if request.method == "POST":
        if not throttle.allow(
            f"confirm:{client_ip(request)}",
            limit=settings.CONFIRM_POSTS_PER_IP_PER_HOUR,
            window_seconds=3600,
        ):
            return too_many(request)
        try:
            req = submissions.submission_confirm(secret=secret)
        except ActionRefused as refusal:
            return render(
                request, "requests_app/confirm_email.html", {"problem": str(refusal)}, status=400
            )
        if not _remembered(request, SESSION_LAST_SUBMISSION, req.status_token):
            # The request is made and its email queued: its status page needs no session.
            return redirect("requests_app:status", req.status_token)
        return redirect("requests_app:confirmation")
    problem = submissions.link_problem(submissions.find_submission(secret))
    return render(
        request,
        "requests_app/confirm_email.html",
        {"problem": problem},
        status=404 if problem == submissions.LINK_NOT_VALID else 200,
    )


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
    offboarding_ask = selectors.pending_offboarding_ask(req)
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
            "next_step": OFFBOARDING_PENDING_STEP if offboarding_ask else NEXT_STEPS[req.state],
            "offboarding_ask": offboarding_ask,
            "can_withdraw": req.state in OPEN_STATES,
            "is_closed": req.state in CLOSED_STATES,
            "remediation": selectors.open_remediation_case(req),
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
