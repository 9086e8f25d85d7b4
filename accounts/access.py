"""A contact's session: who is signed in, checked against the contact list on every page."""

from functools import wraps

from django.contrib import messages
from django.middleware.csrf import rotate_token
from django.shortcuts import redirect

from portal_kit.pages import private_page

from .selectors import viewer_for

SESSION_EMAIL = "contact_email"


def contact_sign_in(request, email: str) -> None:
    """Start a fresh session for email (a new key: a session fixed before sign-in is useless)."""
    request.session.flush()
    rotate_token(request)  # as django.contrib.auth.login does
    request.session[SESSION_EMAIL] = email


def contact_required(view=None, *, signed_out_message=None):
    """Pages for signed-in contacts: never cached; request.viewer is who they are now.

    The contact list is read on every request, so a contact removed from it loses access on
    their next click. Anyone else goes to the sign-in page, told signed_out_message() if given.
    """
    if view is None:
        return lambda wrapped_view: contact_required(
            wrapped_view, signed_out_message=signed_out_message
        )

    @wraps(view)
    @private_page
    def wrapped(request, *args, **kwargs):
        email = request.session.get(SESSION_EMAIL)
        viewer = viewer_for(email) if email else None
        if viewer is None:
            if email:
                request.session.flush()
                messages.warning(
                    request,
                    "You are no longer a contact of any organisation's request, so you have "
                    "been signed out.",
                )
            if signed_out_message:
                messages.info(request, signed_out_message())
            return redirect("accounts:sign_in")
        request.viewer = viewer
        return view(request, *args, **kwargs)

    return wrapped
