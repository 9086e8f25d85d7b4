"""Once federated, the technical contact ticks the Teams admin centre steps, recorded on the
request for the Feedback team to see."""

import pytest
from django.urls import reverse

from requests_app.models import AuditEvent, ContactRole, State, TeamsSetupConfirmation
from tests.accounts.helpers import sign_in
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db


def url(req, name="teams_setup"):
    return reverse(f"portal:{name}", args=[req.reference])


def test_the_technical_contact_ticks_steps_and_they_are_recorded_once(client, feedback_user):
    req = FederationRequestFactory(state=State.FEDERATED)
    tech = req.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)
    page = client.get(url(req, "request")).content.decode()
    assert "Set up Teams for NHSmail" in page and "add nhs.net to the allowed domains" in page

    client.post(url(req), {"steps": ["open_settings", "allow_nhs_net"]})
    client.post(url(req), {"steps": ["allow_nhs_net", "test_chat"]})

    done = dict(TeamsSetupConfirmation.objects.values_list("step", "confirmed_by"))
    assert done == {
        "open_settings": tech.email,
        "allow_nhs_net": tech.email,
        "test_chat": tech.email,
    }
    assert AuditEvent.objects.filter(request=req, action="teams_setup.confirmed").count() == 2
    page = client.get(url(req, "request")).content.decode()
    assert f"Done: confirmed by {tech.email}" in page

    client.force_login(feedback_user)
    admin_page = client.get(reverse("admin:requests_app_federationrequest_change", args=[req.pk]))
    assert "Teams set-up confirmed by the organisation" in admin_page.content.decode()


def test_the_checklist_waits_for_federation(client):
    req = FederationRequestFactory(state=State.SIGNED)
    sign_in(client, req.contacts.get(role=ContactRole.TECHNICAL).email)

    page = client.get(url(req, "request")).content.decode()
    assert 'id="teams-setup"' not in page  # the checklist; the task list says it cannot start
    assert 'name="steps"' not in page
    response = client.post(url(req), {"steps": ["open_settings"]}, follow=True)

    assert "once the request is federated" in response.content.decode()
    assert not TeamsSetupConfirmation.objects.exists()


def test_a_signatory_cannot_tick_and_unknown_steps_are_refused(client):
    req = FederationRequestFactory(state=State.FEDERATED)
    req.contacts.create(
        role=ContactRole.SIGNATORY, name="Dana", job_title="Director", email="dana@x.example"
    )
    sign_in(client, "dana@x.example")
    refused = client.post(url(req), {"steps": ["open_settings"]}, follow=True)
    assert "Only the request&#x27;s technical contacts or SPOC" in refused.content.decode()

    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)
    odd = client.post(url(req), {"steps": ["format_the_disk"]}, follow=True)
    assert "Choose steps from the checklist" in odd.content.decode()
    assert not TeamsSetupConfirmation.objects.exists()


def test_another_organisations_checklist_is_404(client):
    req = FederationRequestFactory(state=State.FEDERATED)
    other = FederationRequestFactory(state=State.FEDERATED)
    sign_in(client, other.contacts.get(role=ContactRole.TECHNICAL).email)
    assert client.post(url(req), {"steps": ["open_settings"]}).status_code == 404
