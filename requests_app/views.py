"""The public pages: start, request form, confirmation, and the private status page."""

from functools import wraps

from django.conf import settings
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from . import selectors, services, throttle
from .audit import REQUESTER_LABEL, audit, client_ip
from .errors import ActionRefused
from .forms import RequestForm, WithdrawForm
from .models import OPEN_STATES, State

SESSION_LAST_SUBMISSION = "last_submission"

# What the requester should expect next, for each state.
NEXT_STEPS = {
    State.SUBMITTED: "The NHSmail Feedback team will review your domains against the initial "
    "review criteria. If they meet them, we will email you the Federation Partnering Agreement.",
    State.REVIEWED: "Your domains meet the initial review criteria. We are preparing your "
    "Federation Partnering Agreement and will email it to you and your SPOC shortly.",
    State.FPA_SENT: "A Director-level signatory for your organisation signs the agreement. Return "
    "it to the NHSmail Feedback team with evidence that you meet the DCB1596 secure email "
    "standard, quoting your reference.",
    State.SIGNED: "We have the signed agreement. The Feedback team is checking your evidence "
    "against the DCB1596 secure email standard and will tell you if anything needs more work.",
    State.EVIDENCE_VERIFIED: "Your evidence is verified. The Feedback team will add your domains "
    "to NHSmail's allow list and tell you the date it takes effect.",
    State.FEDERATED: "Your domains are on NHSmail's allow list. Your technical contact should "
    "check that Teams external access allows nhs.net.",
    State.REJECTED: "This request is closed. You can make a new request once the reason above "
    "is addressed.",
    State.WITHDRAWN: "This request is closed. You can make a new request at any time.",
}


def private_page(view):
    """For pages behind a private status link: never cached, never indexed."""

    @wraps(view)
    @never_cache
    def wrapped(request, *args, **kwargs):
        response = view(request, *args, **kwargs)
        response["X-Robots-Tag"] = "noindex, nofollow"
        return response

    return wrapped


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
        return render(request, "requests_app/too_many.html", status=429)
    if request.method == "POST" and form.is_valid():
        email = form.cleaned_data["requester_email"].lower()
        if not throttle.allow(
            f"request-email:{email}",
            limit=settings.REQUESTS_PER_EMAIL_PER_DAY,
            window_seconds=24 * 3600,
        ):
            return render(request, "requests_app/too_many.html", status=429)
        try:
            req = services.request_submit(**form.service_arguments())
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            request.session[SESSION_LAST_SUBMISSION] = req.status_token
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
    agreement = req.current_agreement
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
            "agreement": agreement if agreement and agreement.sent_at else None,
            "can_withdraw": req.state in OPEN_STATES,
            "is_closed": req.state in (State.REJECTED, State.WITHDRAWN),
        },
    )


@private_page
def agreement_download(request, token):
    req = _request_or_404(token)
    agreement = req.current_agreement
    if agreement is None or agreement.sent_at is None:
        raise Http404("No agreement has been sent for this request yet.")
    audit(
        req,
        None,
        "file.downloaded",
        message=f"Issued FPA (SHA-256 {agreement.pdf_sha256}) from the status page.",
        actor_label=REQUESTER_LABEL,
    )
    return FileResponse(
        agreement.pdf.open("rb"),
        as_attachment=True,
        filename=agreement.download_name,
        content_type="application/pdf",
    )


@private_page
@require_http_methods(["GET", "POST"])
def withdraw(request, token):
    req = _request_or_404(token)
    form = WithdrawForm(request.POST) if request.method == "POST" else WithdrawForm()
    if request.method == "POST" and form.is_valid():
        try:
            services.request_withdraw(
                request_id=req.pk, actor=None, reason=form.cleaned_data["reason"]
            )
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect("requests_app:status", token=token)
    return render(request, "requests_app/withdraw.html", {"req": req, "form": form})
