"""The SPOC keeps the request's contacts current on the portal: add a technical contact or name
the signatory, change or remove a technical contact; the SPOC or signatory proposes a new SPOC."""

from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from accounts.access import contact_required
from portal_kit.errors import ActionRefused
from requests_app.models import ContactRole
from requests_app.selectors import technical_contact
from requests_app.services import contacts

from . import selectors
from .forms import ContactForm, NewContactForm
from .views import viewer_request_or_404


def _technical_contact_or_404(req, contact_id):
    contact = technical_contact(req, contact_id)
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
        return render(request, "portal/contact_form.html", context, status=403)
    form = form_class(request.POST) if request.method == "POST" else form_class(initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            act(form)
        except ActionRefused as refusal:
            form.add_error(None, str(refusal))
        else:
            return redirect(reverse("portal:request", args=[req.reference]) + "#contacts")
    context = {"req": req, "form": form, "title": title, "button": button, "contact": contact}
    return render(request, "portal/contact_form.html", context)


@contact_required
@require_http_methods(["GET", "POST"])
def contact_add(request, reference):
    req = viewer_request_or_404(request, reference)
    return _contact_form_page(
        request,
        req,
        title="Add a contact",
        button="Add the contact",
        roles={ContactRole.SPOC},
        form_class=NewContactForm,
        # The task list's "Name the signatory" arrives with ?role=signatory.
        initial={"role": ContactRole.SIGNATORY}
        if request.GET.get("role") == ContactRole.SIGNATORY
        else None,
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
    req = viewer_request_or_404(request, reference)
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
    req = viewer_request_or_404(request, reference)
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
            return redirect(reverse("portal:request", args=[req.reference]) + "#contacts")
    context = {"req": req, "contact": contact, "problem": problem}
    return render(request, "portal/contact_remove.html", context)


@contact_required
@require_http_methods(["GET", "POST"])
def spoc_change(request, reference):
    req = viewer_request_or_404(request, reference)
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
