"""The SPOC keeps the contacts current; a change of SPOC takes effect when the team confirms."""

import html

import pytest
from django.urls import reverse

from portal_kit.errors import ActionRefused
from requests_app import tasks
from requests_app.models import (
    AuditEvent,
    Contact,
    ContactRole,
    FederationRequest,
    OutboxMessage,
    SpocChange,
    State,
)
from requests_app.services.contacts import SPOC_CHANGE_EMAIL_TASK, spoc_change_confirm
from tests.accounts.helpers import sign_in
from tests.conftest import StaffClient
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db

NEW_TECH = {
    "role": "technical",
    "name": "Nia New",
    "job_title": "Teams Engineer",
    "email": "nia@partner.example",
    "phone": "0113 496 0000",
}
NEW_SPOC = {"name": "Pat Successor", "job_title": "Head of IT", "email": "pat@partner.example"}


@pytest.fixture
def req():
    req = FederationRequestFactory(state=State.FEDERATED)
    Contact.objects.create(
        request=req,
        role=ContactRole.SIGNATORY,
        name="Dana Director",
        job_title="Director of Digital",
        email="dana@partner.example",
    )
    return req


def spoc(req) -> Contact:
    return req.contacts.get(role=ContactRole.SPOC, removed_at__isnull=True)


def page(req, name, *args):
    return reverse(f"portal:{name}", args=[req.reference, *args])


@pytest.fixture
def as_spoc(client, req):
    sign_in(client, spoc(req).email)
    return client


def test_the_spoc_adds_a_technical_contact_who_can_then_sign_in(as_spoc, req):
    response = as_spoc.post(page(req, "contact_add"), NEW_TECH)

    assert response.status_code == 302
    added = req.contacts.get(email="nia@partner.example")
    assert (added.role, added.phone) == (ContactRole.TECHNICAL, "0113 496 0000")
    event = AuditEvent.objects.get(request=req, action="contact.added")
    assert event.actor_label == spoc(req).email and "Nia New" in event.message
    assert "Nia New" in as_spoc.get(page(req, "request")).content.decode()


def test_the_spoc_changes_and_removes_a_technical_contact(as_spoc, req):
    tech = req.contacts.get(role=ContactRole.TECHNICAL)

    as_spoc.post(page(req, "contact_edit", tech.pk), {**NEW_TECH, "email": tech.email})
    tech.refresh_from_db()
    assert (tech.name, tech.phone) == ("Nia New", "0113 496 0000")
    changed = AuditEvent.objects.get(request=req, action="contact.changed")
    assert "Tess Tech" in changed.message and "Nia New" in changed.message

    assert as_spoc.get(page(req, "contact_remove", tech.pk)).status_code == 200  # asks first
    assert tech.__class__.objects.get(pk=tech.pk).removed_at is None
    as_spoc.post(page(req, "contact_remove", tech.pk))
    tech.refresh_from_db()
    assert tech.removed_at is not None
    assert AuditEvent.objects.filter(request=req, action="contact.removed").exists()
    assert as_spoc.get(page(req, "contact_edit", tech.pk)).status_code == 404


def test_a_technical_contact_cannot_change_the_contacts(client, req):
    tech = req.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)

    refused = client.post(page(req, "contact_add"), NEW_TECH)

    assert refused.status_code == 403
    assert "Only the request's SPOC can make this change" in html.unescape(refused.content.decode())
    assert not req.contacts.filter(email=NEW_TECH["email"]).exists()
    assert client.post(page(req, "contact_remove", tech.pk)).status_code == 200
    assert req.contacts.get(pk=tech.pk).removed_at is None


def test_contact_details_are_checked(as_spoc, req):
    response = as_spoc.post(page(req, "contact_add"), {**NEW_TECH, "email": "nope", "name": ""})
    html = response.content.decode()
    assert (
        "Enter their full name" in html and "Enter an email address in the correct format" in html
    )
    assert not req.contacts.filter(name="").exists()


def test_the_spoc_change_end_to_end(as_spoc, req, client, mailoutbox, feedback_user):
    old_email = spoc(req).email

    # The SPOC proposes; nothing changes yet, everyone concerned is emailed.
    as_spoc.post(page(req, "spoc_change"), NEW_SPOC)
    change = SpocChange.objects.get()
    assert spoc(req).email == old_email
    job = OutboxMessage.objects.get(task_name=SPOC_CHANGE_EMAIL_TASK)
    tasks.send_spoc_change_email(**job.kwargs)
    (proposed,) = [m for m in mailoutbox if "new SPOC has been proposed" in m.subject]
    assert set(proposed.to) == {old_email, "pat@partner.example", "dana@partner.example"}
    assert "takes effect when the NHSmail Feedback team confirms it" in proposed.body
    assert "Pat Successor" in as_spoc.get(page(req, "request")).content.decode()

    # A second proposal waits for the first.
    again = as_spoc.post(page(req, "spoc_change"), {**NEW_SPOC, "email": "other@partner.example"})
    assert "already waiting for the Feedback team" in again.content.decode()

    # The Feedback team confirms in the admin: the old SPOC loses SPOC rights at that moment.
    staff = StaffClient()
    staff.force_login(feedback_user)
    response = staff.post(
        reverse("admin:requests_app_spocchange_changelist"),
        {"action": "confirm", "_selected_action": [change.pk]},
        follow=True,
    )
    assert "confirmed; everyone concerned is emailed" in response.content.decode()
    assert spoc(req).email == "pat@partner.example"
    assert req.contacts.get(email=old_email).removed_at is not None
    assert AuditEvent.objects.get(request=req, action="contact.spoc_changed").actor == feedback_user

    # The old SPOC's session ends on their next click; the new SPOC signs in and acts.
    assert as_spoc.get(page(req, "request"))["Location"] == reverse("accounts:sign_in")
    new_spoc = StaffClient()
    sign_in(new_spoc, "pat@partner.example")
    history = new_spoc.get(page(req, "request")).content.decode()
    assert "Pat Successor (pat@partner.example): from" in history
    assert f"({old_email}): from" in history and ", now" in history
    assert new_spoc.post(page(req, "contact_add"), NEW_TECH).status_code == 302


def test_the_signatory_may_propose_a_new_spoc(client, req):
    sign_in(client, "dana@partner.example")
    assert client.post(page(req, "spoc_change"), NEW_SPOC).status_code == 302
    assert SpocChange.objects.get().proposed_by == "dana@partner.example"


def test_the_team_declines_with_a_reason_and_nothing_changes(as_spoc, req, feedback_user):
    as_spoc.post(page(req, "spoc_change"), NEW_SPOC)
    change = SpocChange.objects.get()
    staff = StaffClient()
    staff.force_login(feedback_user)
    url = reverse("admin:requests_app_spocchange_changelist")

    asks = staff.post(url, {"action": "decline", "_selected_action": [change.pk]})
    assert "Reason (the organisation sees it)" in asks.content.decode()
    staff.post(
        url,
        {
            "action": "decline",
            "_selected_action": [change.pk],
            "apply": "yes",
            "reason": "Pat has not confirmed.",
        },
    )

    change.refresh_from_db()
    assert (change.state, change.decline_reason) == ("declined", "Pat has not confirmed.")
    assert spoc(req).email != "pat@partner.example"


def test_the_service_desk_cannot_confirm_a_change_of_spoc(as_spoc, req, service_desk_user):
    as_spoc.post(page(req, "spoc_change"), NEW_SPOC)
    staff = StaffClient()
    staff.force_login(service_desk_user)
    response = staff.post(
        reverse("admin:requests_app_spocchange_changelist"),
        {"action": "confirm", "_selected_action": [SpocChange.objects.get().pk]},
    )
    assert response.status_code == 403
    assert SpocChange.objects.get().state == "proposed"


def test_a_change_proposed_before_the_request_closed_cannot_be_confirmed(client, feedback_user):
    req = FederationRequestFactory(state=State.SIGNED)
    sign_in(client, spoc(req).email)
    client.post(page(req, "spoc_change"), NEW_SPOC)
    FederationRequest.objects.filter(pk=req.pk).update(state=State.WITHDRAWN)

    with pytest.raises(ActionRefused, match="can no longer be changed"):
        spoc_change_confirm(change_id=SpocChange.objects.get().pk, actor=feedback_user)
    assert spoc(req).email != "pat@partner.example"


def test_the_spoc_names_the_signatory_and_a_new_one_replaces_the_old(as_spoc, req):
    dana = req.contacts.get(role=ContactRole.SIGNATORY)
    as_spoc.post(
        page(req, "contact_add"),
        {**NEW_TECH, "role": "signatory", "name": "Nia Director", "job_title": "Director"},
    )

    current = req.contacts.get(role=ContactRole.SIGNATORY, removed_at__isnull=True)
    assert (current.name, current.email) == ("Nia Director", "nia@partner.example")
    assert req.contacts.get(pk=dana.pk).removed_at is not None
    added = AuditEvent.objects.get(request=req, action="contact.added")
    assert added.message.startswith("Signatory: Nia Director")
