"""Contacts' pages: sign in by emailed link, then their own organisations' requests."""

import secrets

from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from agreements.forms import EvidenceUploadForm
from agreements.models import EvidenceCriterion
from agreements.services import evidence_submit
from agreements.signing import agreement_sign, signing_available
from requests_app import contacts, throttle
from requests_app import selectors as request_selectors
from requests_app.audit import audit, client_ip
from requests_app.errors import ActionRefused
from requests_app.models import ContactRole, State
from requests_app.teams_setup import teams_setup_confirm
from requests_app.views import NEXT_STEPS, private_page

from . import selectors, services
from .access import SESSION_EMAIL, contact_required, contact_sign_in
from .forms import ContactForm, NewContactForm, SignForm, SignInForm

# A random value in a cookie of the browser that asked for a link; the link works only there.
BROWSER_COOKIE = "fp_sign_in_browser"
BROWSER_COOKIE_AGE = 24 * 3600


@private_page
@require_http_methods(["GET", "POST"])
def sign_in(request):
    form = SignInForm(request.POST) if request.method == "POST" else SignInForm()
    if request.method == "POST":
        if not throttle.allow(
            f"sign-in-ip:{client_ip(request)}",
            limit=settings.SIGN_IN_POSTS_PER_IP_PER_HOUR,
            window_seconds=3600,
        ):
            return render(request, "requests_app/too_many.html", status=429)
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if not throttle.allow(
                f"sign-in-address:{email}",
                limit=settings.SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR,
                window_seconds=3600,
            ):
                return render(request, "requests_app/too_many.html", status=429)
            nonce = request.COOKIES.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
            services.sign_in_link_ask(email=email, browser_nonce=nonce)
            request.session["sign_in_email"] = email
            response = redirect("accounts:sign_in_sent")
            response.set_cookie(
                BROWSER_COOKIE,
                nonce,
                max_age=BROWSER_COOKIE_AGE,
                httponly=True,
                secure=settings.SESSION_COOKIE_SECURE,
                samesite="Lax",
            )
            return response
    return render(request, "accounts/sign_in.html", {"form": form})


@private_page
def sign_in_sent(request):
    email = request.session.get("sign_in_email")
    if not email:
        return redirect("accounts:sign_in")
    return render(
        request,
        "accounts/sign_in_sent.html",
        {"email": email, "minutes": settings.SIGN_IN_LINK_MINUTES},
    )


@private_page
@require_http_methods(["GET", "POST"])
def sign_in_link(request, secret):
    """GET only shows a button (mail scanners open links); the POST signs in."""
    if request.method == "POST":
        try:
            email = services.sign_in_link_redeem(
                secret=secret, browser_nonce=request.COOKIES.get(BROWSER_COOKIE, "")
            )
        except ActionRefused as refusal:
            return render(
                request, "accounts/sign_in_link.html", {"problem": str(refusal)}, status=400
            )
        contact_sign_in(request, email)
        return redirect("accounts:home")
    problem = services.link_problem(services.find_link(secret))
    return render(request, "accounts/sign_in_link.html", {"problem": problem})


@require_POST
def sign_out(request):
    email = request.session.get(SESSION_EMAIL)
    if email:
        services.contact_sign_out(email=email)
    request.session.flush()  # the session ends on the server too
    return redirect("accounts:sign_in")


@contact_required
def home(request):
    return render(
        request,
        "accounts/home.html",
        {"viewer": request.viewer, "requests": selectors.requests_for(request.viewer)},
    )


def _viewer_request_or_404(request, reference):
    req = selectors.request_for(request.viewer, reference)
    if req is None:
        raise Http404("No request of your organisation has that reference.")
    return req


@contact_required
def request_detail(request, reference):
    req = _viewer_request_or_404(request, reference)
    agreement = req.current_agreement
    check_run = request_selectors.latest_check_run(req, completed=True)
    return render(
        request,
        "accounts/request.html",
        {
            "viewer": request.viewer,
            "req": req,
            "next_step": NEXT_STEPS[req.state],
            "timeline": request_selectors.request_timeline(req),
            "agreement": agreement if agreement and agreement.sent_at else None,
            "check_run": check_run,
            "check_domains": (
                request_selectors.check_run_results(check_run, for_requester=True)
                if check_run
                else []
            ),
            "evidence": selectors.evidence_for(req),
            "contacts": req.contacts.filter(removed_at__isnull=True).order_by("role", "name"),
            "roles": selectors.roles_on(request.viewer, req),
            "may_change_contacts": req.state in contacts.CONTACT_STATES,
            "spoc_history": selectors.spoc_history(req),
            "pending_spoc_change": req.spoc_changes.filter(state="proposed").first(),
            "teams_setup": selectors.teams_setup_checklist(req),
            "evidence_open": req.state in (State.FPA_SENT, State.SIGNED),
            "may_sign": req.state == State.FPA_SENT,
            "show_evidence": req.state
            in (State.FPA_SENT, State.SIGNED, State.EVIDENCE_VERIFIED, State.FEDERATED),
        },
    )


@contact_required
@require_http_methods(["GET", "POST"])
def evidence_upload(request, reference, criterion_id):
    """A contact uploads evidence for one DCB1596 criterion (again, after it was returned)."""
    req = _viewer_request_or_404(request, reference)
    criterion = EvidenceCriterion.objects.filter(pk=criterion_id).first()
    if criterion is None:
        raise Http404("No such criterion.")
    form = EvidenceUploadForm.for_request(request)
    if request.method == "POST" and form.is_valid():
        try:
            evidence_submit(
                request_id=req.pk,
                actor_email=request.viewer.email,
                criterion_id=criterion.pk,
                upload=form.cleaned_data["file"],
            )
        except ActionRefused as refusal:
            form.add_error("file", str(refusal))
        else:
            messages.success(request, f"Your evidence for “{criterion.title}” was received.")
            return redirect(reverse("accounts:request", args=[req.reference]) + "#evidence")
    context = {
        "req": req,
        "criterion": criterion,
        "form": form,
        "upload_limit": settings.UPLOAD_MAX_BYTES,
    }
    return render(request, "accounts/evidence_upload.html", context)


@contact_required
def signed_download(request, reference):
    """The signed copy (sealed when signed in the portal), for the organisation's contacts."""
    req = _viewer_request_or_404(request, reference)
    agreement = req.current_agreement
    if agreement is None or not agreement.signed_copy:
        raise Http404("No signed agreement yet.")
    name = agreement.download_name.replace(".pdf", "-signed.pdf")
    return _pdf_download(
        request, req, agreement.signed_copy, name, "Signed FPA", agreement.signed_copy_sha256
    )


def _pdf_download(request, req, field_file, filename: str, what: str, digest: str):
    """A stored PDF as an attachment, its download in the audit log with its SHA-256."""
    audit(
        req,
        None,
        "file.downloaded",
        message=f"{what} (SHA-256 {digest}) by a signed-in contact.",
        actor_label=request.viewer.email,
    )
    return FileResponse(
        field_file.open("rb"), as_attachment=True, filename=filename, content_type="application/pdf"
    )


@contact_required
@require_http_methods(["GET", "POST"])
def sign_agreement(request, reference):
    """The signatory reads the FPA as issued and signs it; the sealed copy replaces paper."""
    req = _viewer_request_or_404(request, reference)
    agreement = req.current_agreement
    refusal = ""
    if ContactRole.SIGNATORY not in selectors.roles_on(request.viewer, req):
        refusal = "Only the signatory named on the request can sign its agreement."
    elif req.state != State.FPA_SENT or agreement is None or not agreement.sent_at:
        refusal = "There is no agreement waiting for a signature on this request."
    elif not signing_available():
        refusal = (
            "Signing in the portal is not available yet. Sign the agreement and email it to "
            f"the NHSmail Feedback team at {settings.FEEDBACK_TEAM_EMAIL}."
        )
    if refusal:
        context = {"req": req, "refusal": refusal}
        return render(request, "accounts/sign.html", context, status=403)
    form = SignForm(request.POST or None, initial={"document_sha256": agreement.pdf_sha256})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            agreement_sign(
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
            return redirect("accounts:request", reference=req.reference)
    context = {"req": req, "agreement": agreement, "form": form}
    return render(request, "accounts/sign.html", context)


@contact_required
@require_POST
def teams_setup(request, reference):
    """The technical contact ticks the Teams admin centre steps they have done."""
    req = _viewer_request_or_404(request, reference)
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
    return redirect(reverse("accounts:request", args=[req.reference]) + "#teams-setup")


def _technical_contact_or_404(req, contact_id):
    contact = req.contacts.filter(
        pk=contact_id, role=ContactRole.TECHNICAL, removed_at__isnull=True
    ).first()
    if contact is None:
        raise Http404("No such technical contact on this request.")
    return contact


def _contact_form_page(
    request, req, *, title, button, act, roles, initial=None, contact=None, form_class=ContactForm
):
    """GET shows the form; a valid POST calls act(details) and returns to the request page.

    A contact without one of roles on the request is told who may make the change.
    """
    if not selectors.roles_on(request.viewer, req) & roles:
        who = "SPOC or signatory" if ContactRole.SIGNATORY in roles else "SPOC"
        sentence = f"Only the request's {who} can make this change. Ask them, or the NHSmail "
        sentence += "Feedback team, if it needs making."
        context = {"req": req, "title": title, "refusal": sentence}
        return render(request, "accounts/contact_form.html", context, status=403)
    form = form_class(request.POST) if request.method == "POST" else form_class(initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            act(form)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect(reverse("accounts:request", args=[req.reference]) + "#contacts")
    context = {"req": req, "form": form, "title": title, "button": button, "contact": contact}
    return render(request, "accounts/contact_form.html", context)


@contact_required
@require_http_methods(["GET", "POST"])
def contact_add(request, reference):
    req = _viewer_request_or_404(request, reference)
    return _contact_form_page(
        request,
        req,
        title="Add a contact",
        button="Add the contact",
        roles={ContactRole.SPOC},
        form_class=NewContactForm,
        act=lambda form: contacts.contact_add(
            request_id=req.pk,
            actor_email=request.viewer.email,
            details=form.details(),
            role=form.cleaned_data["role"],
        ),
    )


@contact_required
@require_http_methods(["GET", "POST"])
def contact_edit(request, reference, contact_id):
    req = _viewer_request_or_404(request, reference)
    contact = _technical_contact_or_404(req, contact_id)
    return _contact_form_page(
        request,
        req,
        title=f"Change {contact.name}'s details",
        button="Save the changes",
        roles={ContactRole.SPOC},
        initial={f: getattr(contact, f) for f in ("name", "job_title", "email", "phone")},
        contact=contact,
        act=lambda form: contacts.contact_change(
            request_id=req.pk,
            contact_id=contact.pk,
            actor_email=request.viewer.email,
            details=form.details(),
        ),
    )


@contact_required
@require_http_methods(["GET", "POST"])
def contact_remove(request, reference, contact_id):
    req = _viewer_request_or_404(request, reference)
    contact = _technical_contact_or_404(req, contact_id)
    problem = ""
    if ContactRole.SPOC not in selectors.roles_on(request.viewer, req):
        problem = "Only the request's SPOC can remove a contact."
    elif request.method == "POST":
        try:
            contacts.contact_remove(
                request_id=req.pk, contact_id=contact.pk, actor_email=request.viewer.email
            )
        except ActionRefused as refusal:
            problem = str(refusal)
        else:
            return redirect(reverse("accounts:request", args=[req.reference]) + "#contacts")
    context = {"req": req, "contact": contact, "problem": problem}
    return render(request, "accounts/contact_remove.html", context)


@contact_required
@require_http_methods(["GET", "POST"])
def spoc_change(request, reference):
    req = _viewer_request_or_404(request, reference)
    return _contact_form_page(
        request,
        req,
        title="Propose a new SPOC",
        button="Propose the new SPOC",
        roles={ContactRole.SPOC, ContactRole.SIGNATORY},
        act=lambda form: contacts.spoc_change_propose(
            request_id=req.pk, actor_email=request.viewer.email, details=form.details()
        ),
    )


@contact_required
def agreement_download(request, reference):
    req = _viewer_request_or_404(request, reference)
    agreement = req.current_agreement
    if agreement is None or agreement.sent_at is None:
        raise Http404("No agreement has been sent for this request yet.")
    return _pdf_download(
        request, req, agreement.pdf, agreement.download_name, "Issued FPA", agreement.pdf_sha256
    )
