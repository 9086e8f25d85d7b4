"""Contacts' sign-in by emailed link: ask, the link sent, redeem, sign out. Their pages are in
the portal app."""

import secrets

from django.conf import settings
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from portal_kit import throttle
from portal_kit.errors import ActionRefused
from portal_kit.http import client_ip
from portal_kit.pages import private_page, too_many

from .access import SESSION_EMAIL, contact_sign_in
from .forms import SignInForm
from .services import sign_in as sign_in_service

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
            return too_many(request)
        if form.is_valid():
            email = form.cleaned_data["email"].strip().lower()
            if not throttle.allow(
                f"sign-in-address:{email}",
                limit=settings.SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR,
                window_seconds=3600,
            ):
                return too_many(request)
            nonce = request.COOKIES.get(BROWSER_COOKIE) or secrets.token_urlsafe(32)
            sign_in_service.sign_in_link_ask(email=email, browser_nonce=nonce)
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
            email = sign_in_service.sign_in_link_redeem(
                secret=secret, browser_nonce=request.COOKIES.get(BROWSER_COOKIE, "")
            )
        except ActionRefused as refusal:
            return render(
                request, "accounts/sign_in_link.html", {"problem": str(refusal)}, status=400
            )
        contact_sign_in(request, email)
        return redirect("portal:home")
    problem = sign_in_service.link_problem(sign_in_service.find_link(secret))
    return render(request, "accounts/sign_in_link.html", {"problem": problem})


@require_POST
def sign_out(request):
    email = request.session.get(SESSION_EMAIL)
    if email:
        sign_in_service.contact_sign_out(email=email)
    request.session.flush()  # the session ends on the server too
    return redirect("accounts:sign_in")
