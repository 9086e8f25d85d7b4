"""Every page carries a Content-Security-Policy: public pages, the organisation's portal, the
staff admin, error pages. The browser test (tests/browser/test_content_security_policy.py)
shows the pages keep working under it."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from requests_app.models import State
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory, request_in

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:
    header = response.headers.get("Content-Security-Policy")
    assert header, f"{response.request['PATH_INFO']} has no Content-Security-Policy"
    parsed = {}
    for part in header.split(";"):
        name, *values = part.split()
        parsed[name] = values
    return parsed


def assert_strict(response) -> None:
    """The policy of issue 11: no inline script, nothing framing, embedding or rebasing."""
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    script = policy.get("script-src", policy["default-src"])
    assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script
    assert all(source == "'self'" or source.startswith("'nonce-") for source in script), script
    style = policy.get("style-src", policy["default-src"])
    assert "'unsafe-inline'" not in style
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["form-action"] == ["'self'"]


def test_every_public_page_has_the_policy(client):
    req = FederationRequestFactory()
    paths = [
        reverse("requests_app:start"),
        reverse("requests_app:request_form"),
        reverse("requests_app:status", args=[req.status_token]),
        reverse("accounts:sign_in"),
        reverse("agreements:verify"),
        "/no-such-page/",
    ]
    anonymous = Client()
    for path in paths:
        response = anonymous.get(path)
        assert response.status_code in (200, 404), path
        assert_strict(response)
    # A refused post (the request form with nothing filled in) too.
    assert_strict(anonymous.post(reverse("requests_app:request_form"), {}))


def test_the_portal_pages_have_the_policy(feedback_user):
    req = request_in(State.FPA_SENT, feedback_user)
    contact = Client()
    sign_in(contact, req.contacts.first().email)
    for path in (
        reverse("portal:home"),
        reverse("portal:request", args=[req.reference]),
        reverse("portal:contact_add", args=[req.reference]),
        reverse("support:list"),
    ):
        response = contact.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_the_admin_pages_have_the_policy(admin_client):
    req = FederationRequestFactory()
    assert_strict(Client().get("/admin/login/"))
    for path in (
        "/admin/",
        "/admin/requests_app/federationrequest/",
        f"/admin/requests_app/federationrequest/{req.pk}/change/",
        "/admin/requests_app/auditevent/",
    ):
        response = admin_client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_no_template_has_inline_script_without_a_nonce_or_a_style_attribute():
    """What the header forbids, the templates must not need (a nonce marks allowed script)."""
    root = Path(__file__).resolve().parent.parent
    found = []
    for template in root.glob("*/templates/**/*.html"):
        if template.name in ("fpa.html", "certificate.html"):  # WeasyPrint's, not a browser's
            continue
        text = template.read_text()
        for script in re.findall(r"<script\b[^>]*>", text):
            if "src=" not in script and "csp_nonce" not in script and "json" not in script:
                found.append(f"{template.relative_to(root)}: {script}")
        if re.search(r"\sstyle=", text) or re.search(r"\son[a-z]+=", text):
            found.append(f"{template.relative_to(root)}: an inline style or event handler")
    assert found == []
