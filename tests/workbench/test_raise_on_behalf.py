"""The service desk raises a request on an organisation's behalf, under the web form's rules."""

import pytest

from requests_app.models import AuditEvent, Channel, FederationRequest, State
from tests.factories import request_in
from tests.workbench.helpers import CHANGELIST_URL, RAISE_URL, change_url, shown_messages, text

pytestmark = pytest.mark.django_db


def raise_form(**overrides) -> dict:
    data = {
        "organisation_name": "Hillside Hospice",
        "ods_code": "",
        "has_nhsmail_presence": "no",
        "domains": "hillside-hospice.org.uk",
        "justification": "Teams federation",
        "requester_name": "Hana Hospice",
        "requester_email": "hana@hillside-hospice.org.uk",
        "spoc_name": "Sam Spoc",
        "spoc_job_title": "IT Manager",
        "spoc_email": "sam@hillside-hospice.org.uk",
        "spoc_phone": "",
        "technical_name": "Tess Tech",
        "technical_job_title": "Teams Administrator",
        "technical_email": "tess@hillside-hospice.org.uk",
        "technical_phone": "",
        "on_behalf_reason": "No NHSmail presence; ticket INC0012345.",
    }
    data.update(overrides)
    return data


def test_the_service_desk_changelist_offers_to_raise_a_request(client, service_desk_user):
    client.force_login(service_desk_user)

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert (
        f'<a href="{RAISE_URL}" class="addlink">Raise a request on behalf of an organisation'
        in text(response)
    )


def test_the_feedback_team_changelist_does_not_offer_to_raise(client, feedback_user):
    client.force_login(feedback_user)

    response = client.get(CHANGELIST_URL)

    assert response.status_code == 200
    assert RAISE_URL not in response.content.decode()
    assert client.get(RAISE_URL).status_code == 403


# -- raise on behalf -----------------------------------------------------------------------------


def test_the_service_desk_raises_a_request_on_an_organisations_behalf(client, service_desk_user):
    client.force_login(service_desk_user)
    assert client.get(RAISE_URL).status_code == 200

    response = client.post(RAISE_URL, raise_form(), follow=True)

    req = FederationRequest.objects.get()
    assert response.redirect_chain == [(change_url(req), 302)]
    assert req.channel == Channel.SERVICE_DESK
    assert req.raised_by == service_desk_user
    assert req.raised_on_behalf_reason == "No NHSmail presence; ticket INC0012345."
    assert req.organisation.name == "Hillside Hospice"
    assert list(req.domains.values_list("name", flat=True)) == ["hillside-hospice.org.uk"]
    assert req.contacts.count() == 2
    assert shown_messages(response) == [
        (
            "success",
            f"{req.reference} was raised on the organisation's behalf; the requester and SPOC have "
            "been emailed.",
        )
    ]
    event = AuditEvent.objects.get(request=req, action="request.submitted")
    assert (event.actor, event.actor_label) == (service_desk_user, service_desk_user.username)
    assert "Raised on behalf by the service desk" in event.message


def test_raising_on_behalf_needs_a_reason(client, service_desk_user):
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form(on_behalf_reason=""))

    assert response.status_code == 200
    assert "Please correct the errors below." in text(response)
    assert FederationRequest.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "sentence"),
    [
        (
            "co.uk",
            "“co.uk” is a public suffix shared by many organisations, not a domain one "
            "organisation owns.",
        ),
        ("nhs.net", "“nhs.net” is NHSmail itself."),
        ("*.hillside-hospice.org.uk", "“*.hillside-hospice.org.uk” is a wildcard."),
    ],
)
def test_raising_on_behalf_applies_the_same_domain_rules(
    client, service_desk_user, typed, sentence
):
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form(domains=typed))

    assert response.status_code == 200
    assert sentence in text(response)
    assert FederationRequest.objects.count() == 0


def test_raising_on_behalf_refuses_a_domain_in_a_live_request(
    client, service_desk_user, feedback_user
):
    request_in(
        State.SIGNED, feedback_user, domains=["hillside-hospice.org.uk"], reference="FR-424242"
    )
    client.force_login(service_desk_user)

    response = client.post(RAISE_URL, raise_form())

    assert response.status_code == 200
    assert (
        "“hillside-hospice.org.uk” is already in request FR-424242, which is still open."
        in text(response)
    )
    assert FederationRequest.objects.count() == 1
