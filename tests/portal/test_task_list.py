"""The request page's task list: every step of the route, who does it, where it stands, and a
link for whoever can do it now."""

import html
import re

import pytest
from django.urls import reverse

from agreements.models import EvidenceCriterion
from requests_app.models import Contact, ContactRole, State
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory, request_in
from tests.helpers import use_seal

pytestmark = pytest.mark.django_db


def tasks(client, req) -> dict[str, tuple[str, str]]:
    """{task name: (status, link or "")} as the page shows them."""
    page = client.get(reverse("portal:request", args=[req.reference])).content.decode()
    found = {}
    for item in re.findall(r'<li class="nhsuk-task-list__item.*?</li>', page, re.S):
        link = re.search(
            r'<a class="nhsuk-link nhsuk-task-list__link" href="([^"]+)"[^>]*>(.*?)</a>', item
        )
        name = html.unescape(
            link.group(2) if link else re.search(r"<div>(.*?)</div>", item).group(1)
        )
        status = re.search(
            r'id="task-\d+-status">\s*(?:<strong[^>]*>)?(.*?)(?:</strong>)?\s*</div>', item, re.S
        )
        found[name] = (html.unescape(status.group(1)).strip(), link.group(1) if link else "")
    return found


def spoc_of(req) -> str:
    return req.contacts.get(role=ContactRole.SPOC).email


def name_signatory(req) -> Contact:
    return Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email="dana@harbourside.example",
    )


def test_while_the_agreement_waits_the_spoc_names_the_signatory_and_evidence_goes_in(
    client, feedback_user
):
    req = request_in(State.FPA_SENT, feedback_user)
    sign_in(client, spoc_of(req))

    shown = tasks(client, req)

    assert shown["Domain checks"][0] == "Completed"
    assert shown["Review of your domains"] == ("Completed", "")
    name_link = reverse("portal:contact_add", args=[req.reference]) + "?role=signatory"
    assert shown["Name the signatory"] == ("To do", name_link)
    # The link lands on the contact form with the signatory's role already chosen.
    form = client.get(name_link).content.decode()
    assert re.search(r'<input[^>]*value="signatory"[^>]*checked', form)
    assert shown["Sign the Federation Partnering Agreement"] == ("Waiting for the signatory", "")
    dmarc = EvidenceCriterion.objects.get(code="dmarc")
    # Evidence in parallel with the signature.
    assert shown[f"Evidence: {dmarc.title}"] == (
        "To do",
        reverse("portal:evidence_upload", args=[req.reference, dmarc.pk]),
    )
    assert shown["Domains on NHSmail's allow list"] == ("Cannot start yet", "")
    assert shown["Set up Teams for NHSmail"] == ("Cannot start yet", "")
    page = client.get(reverse("portal:request", args=[req.reference])).content.decode()
    assert "while the signature is awaited" in page


def test_the_signatory_finds_the_link_to_sign(client, feedback_user, settings, seal_paths):
    use_seal(settings, seal_paths)
    req = request_in(State.FPA_SENT, feedback_user)
    name_signatory(req)
    sign_in(client, "dana@harbourside.example")

    shown = tasks(client, req)

    assert shown["Name the signatory"] == ("Completed", "")
    assert shown["Sign the Federation Partnering Agreement"] == (
        "To do",
        reverse("portal:sign", args=[req.reference]),
    )


def test_before_the_agreement_nothing_can_be_signed_or_uploaded(client):
    req = FederationRequestFactory(state=State.SUBMITTED)
    sign_in(client, spoc_of(req))

    shown = tasks(client, req)

    assert shown["Review of your domains"] == ("Waiting for the Feedback team", "")
    assert shown["Sign the Federation Partnering Agreement"] == ("Cannot start yet", "")
    evidence = [status for name, status in shown.items() if name.startswith("Evidence:")]
    assert evidence and all(status == ("Cannot start yet", "") for status in evidence)


def test_once_federated_the_technical_contact_sets_up_teams(client, feedback_user):
    req = request_in(State.FEDERATED, feedback_user)
    sign_in(client, req.contacts.get(role=ContactRole.TECHNICAL).email)

    shown = tasks(client, req)

    assert shown["Domains on NHSmail's allow list"] == ("Completed", "")
    assert shown["Sign the Federation Partnering Agreement"] == ("Completed", "")
    teams = reverse("portal:request", args=[req.reference]) + "#teams-setup"
    assert shown["Set up Teams for NHSmail"] == ("To do", teams)


def test_a_closed_request_has_no_task_list(client):
    req = FederationRequestFactory(state=State.REJECTED)
    sign_in(client, spoc_of(req))
    assert tasks(client, req) == {}


def test_no_link_to_sign_where_the_sign_page_would_refuse(client, feedback_user, settings):
    settings.SEAL_KEY_FILE = ""  # no seal: signing in the portal is off
    req = request_in(State.FPA_SENT, feedback_user)
    name_signatory(req)
    sign_in(client, "dana@harbourside.example")

    assert tasks(client, req)["Sign the Federation Partnering Agreement"] == ("To do", "")


def test_once_signed_there_is_no_signatory_left_to_name(client, feedback_user):
    req = request_in(State.SIGNED, feedback_user)  # a copy signed elsewhere, nobody named
    sign_in(client, spoc_of(req))

    assert tasks(client, req)["Name the signatory"] == ("Completed", "")
