"""What the portal says leads organisations through the route it offers (sign in, sign in the
portal, upload evidence), never back to the old one of emailing a signed agreement."""

import html
import re
from pathlib import Path

import pytest
from django.urls import reverse

from agreements.emails import send_agreement_email, send_agreement_request_email
from agreements.selectors import current_agreement
from requests_app.models import ContactRole, State
from requests_app.next_steps import NEXT_STEPS
from tests.accounts.helpers import sign_in
from tests.conftest import ROOT
from tests.factories import request_in
from tests.helpers import use_seal

# The old route, in the ways it has been worded: return, email or send the signed agreement or
# the evidence to the Feedback team.
OLD_ROUTE = re.compile(
    r"\breturns? (it|the (signed )?(agreement|copy|fpa))\b[^.]*\bto\b"
    r"|\bemail (it|the (signed )?(agreement|copy|fpa|evidence))\b[^.]*"
    r"\b(back|to (us|the nhsmail feedback team))\b"
    r"|\bsend (it|them|the (signed|updated) [a-z ]+)\b[^.]*\bto the nhsmail feedback team\b"
    r"|\bsign and return\b",
    re.IGNORECASE,
)
ORGANISATION_TEMPLATES = [
    ROOT / "templates" / folder for folder in ("emails", "requests_app", "portal", "accounts")
] + [ROOT / "templates" / "support", ROOT / "agreements" / "templates" / "agreements"]


# While the portal has no seal, online signing is off and emailing the signed copy is the only
# route: templates tell it in the {% else %} of {% if portal_signing %}, and only there.
SIGNING_OFF = re.compile(r"(\{% if portal_signing %\}.*?)\{% else %\}.*?(\{% endif %\})", re.S)


def words(text: str) -> str:
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", text)))


@pytest.mark.parametrize(
    "path",
    sorted(
        path.relative_to(ROOT) for folder in ORGANISATION_TEMPLATES for path in folder.rglob("*.*")
    ),
    ids=str,
)
def test_no_template_tells_the_old_route(path: Path):
    text = words(SIGNING_OFF.sub(r"\1\2", (ROOT / path).read_text()))
    assert not OLD_ROUTE.search(text), OLD_ROUTE.search(text).group(0)


def test_the_pattern_catches_the_old_wording():
    # The sentences the portal used to say, so the test above can fail.
    for old in (
        "Return it to the NHSmail Feedback team with evidence",
        "Return the signed agreement to the NHSmail Feedback team at feedback@nhs.net",
        "Send the updated evidence to the NHSmail Feedback team at feedback@nhs.net",
        "Sign the agreement and email it back to us.",
        "A Director-level signatory signs it and returns it to the NHSmail Feedback team",
    ):
        assert OLD_ROUTE.search(old), old


@pytest.mark.django_db
@pytest.mark.parametrize("state", list(State))
def test_no_page_in_any_state_tells_the_old_route(
    client, feedback_user, state, settings, seal_paths
):
    use_seal(settings, seal_paths)
    req = request_in(state, feedback_user)
    assert not OLD_ROUTE.search(NEXT_STEPS[state])
    status = client.get(reverse("requests_app:status", args=[req.status_token]))
    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)
    portal = client.get(reverse("portal:request", args=[req.reference]))

    for page in (status, portal):
        assert page.status_code == 200
        text = words(page.content.decode())
        assert not OLD_ROUTE.search(text), OLD_ROUTE.search(text).group(0)


@pytest.mark.django_db
@pytest.mark.parametrize("portal_signing", [True, False])
def test_the_fallback_is_told_only_while_online_signing_is_off(
    client, feedback_user, settings, seal_paths, mailoutbox, portal_signing
):
    if portal_signing:
        use_seal(settings, seal_paths)
    req = request_in(State.FPA_SENT, feedback_user)
    agreement = current_agreement(req)
    send_agreement_email(agreement_id=agreement.pk)
    send_agreement_request_email(request_id=req.pk, kind="fpa_reminder", key="fpa_reminder:1")
    status = words(
        client.get(reverse("requests_app:status", args=[req.status_token])).content.decode()
    )

    fallback = "not available at the moment"
    for text in (status, *(words(message.body) for message in mailoutbox)):
        assert (fallback in text) is not portal_signing, text
        if not portal_signing:
            assert "emails the signed copy to the NHSmail Feedback team" in text
