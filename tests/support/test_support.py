"""Support requests: only contacts named in a signed agreement raise them; staff work them in
the admin; replies reach the contact by email and on the portal."""

import html

import pytest
from django.urls import reverse
from django.utils import timezone

from requests_app.models import AuditEvent, Contact, ContactRole, OutboxMessage, State
from support import tasks
from support.models import SupportRequest
from support.services.support_requests import EMAIL_TASK
from tests.accounts.helpers import sign_in
from tests.conftest import StaffClient
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db

NEW = reverse("support:new")
WHO_MAY = "Only the contacts named in a signed Federation Partnering Agreement"


def form(req, **overrides):
    return {
        "request": req.pk,
        "category": "cannot_message",
        "description": "Chats to nhs.net users show 'blocked by your organisation'.",
        "affected_users": "All our Teams users",
        **started("20", "11", "2026"),
        "own_it_tried": "on",
        **overrides,
    }


def started(day: str, month: str, year: str) -> dict[str, str]:
    """The NHS.UK date input's three boxes for "When did it start?"."""
    return {"started_on_day": day, "started_on_month": month, "started_on_year": year}


@pytest.fixture
def signed():
    return FederationRequestFactory(state=State.FEDERATED)


def text(response) -> str:
    return html.unescape(response.content.decode())


def run_email_jobs() -> None:
    for job in OutboxMessage.objects.filter(task_name=EMAIL_TASK, dispatched_at__isnull=True):
        tasks.send_support_email(**job.kwargs)
        job.dispatched_at = timezone.now()
        job.save()


def test_a_named_contact_raises_a_support_request_and_the_team_is_told(
    client, signed, mailoutbox, settings
):
    tech = signed.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)

    response = client.post(NEW, form(signed))

    support = SupportRequest.objects.get()
    assert response["Location"] == reverse("support:detail", args=[support.reference])
    assert (support.raised_by_email, support.raised_by_name) == (tech.email, "Tess Tech")
    assert str(support.started_on) == "2026-11-20"
    assert AuditEvent.objects.get(action="support.raised").actor_label == tech.email
    run_email_jobs()
    (to_team,) = [m for m in mailoutbox if m.to == [settings.FEEDBACK_TEAM_EMAIL]]
    assert support.reference in to_team.subject
    assert "blocked by your organisation" in to_team.body
    assert to_team.reply_to == [tech.email]


def test_the_form_needs_the_own_it_team_confirmation_and_a_sane_date(client, signed):
    sign_in(client, signed.contacts.get(role=ContactRole.SPOC).email)

    response = client.post(NEW, form(signed, own_it_tried="", **started("1", "1", "2099")))

    page = text(response)
    assert "Confirm that your own IT team has tried to fix this first" in page
    assert "Date it started must be today or in the past" in page
    assert not SupportRequest.objects.exists()


@pytest.mark.parametrize(
    ("day", "month", "year", "message"),
    [
        ("", "", "", "Enter the date it started"),
        ("20", "", "2026", "Date it started must include a month"),
        ("", "", "2026", "Date it started must include a day and a month"),
        ("31", "2", "2026", "Date it started must be a real date"),
        ("20", "11", "26", "Date it started must be a real date"),
        ("20", "+1", "2026", "Date it started must be a real date"),
        ("٢٠", "11", "2026", "Date it started must be a real date"),
        ("1", "1", "0001", "Date it started must be a real date"),
    ],
)
def test_the_date_it_started_is_asked_for_and_checked_as_nhs_uk_does(
    client, signed, day, month, year, message
):
    sign_in(client, signed.contacts.get(role=ContactRole.SPOC).email)

    response = client.post(NEW, form(signed, **started(day, month, year)))

    page = response.content.decode()
    assert message in text(response)
    assert '<div class="nhsuk-date-input" id="id_started_on-parts">' in page
    # What was typed stays in its box, and the summary's link lands on the day box.
    assert f'name="started_on_year" type="text" inputmode="numeric" value="{year}"' in page
    assert (
        '<a href="#id_started_on">' in page and 'id="id_started_on" name="started_on_day"' in page
    )
    assert not SupportRequest.objects.exists()


@pytest.mark.parametrize("state", [State.SUBMITTED, State.REVIEWED, State.FPA_SENT])
def test_a_contact_of_an_organisation_without_a_signed_agreement_is_refused(client, state):
    req = FederationRequestFactory(state=state)
    sign_in(client, req.contacts.get(role=ContactRole.SPOC).email)

    assert WHO_MAY in text(client.get(NEW))
    refused = client.post(NEW, form(req))

    assert refused.status_code == 403
    assert WHO_MAY in text(refused)
    assert not SupportRequest.objects.exists()


def test_a_former_contact_is_refused(client, signed):
    former = Contact.objects.create(
        request=signed,
        role=ContactRole.TECHNICAL,
        name="Former",
        job_title="Engineer",
        email="former@partner.example",
    )
    sign_in(client, former.email)
    Contact.objects.filter(pk=former.pk).update(removed_at=timezone.now())

    response = client.post(NEW, form(signed), follow=True)

    assert response.redirect_chain == [(reverse("accounts:sign_in"), 302)]
    assert "no longer a contact" in text(response) and WHO_MAY in text(response)
    assert not SupportRequest.objects.exists()


def test_someone_who_is_not_a_contact_cannot_reach_the_form(client, signed):
    told = client.get(NEW, follow=True)
    assert told.redirect_chain == [(reverse("accounts:sign_in"), 302)]
    assert WHO_MAY in text(told)
    assert client.post(NEW, form(signed))["Location"] == reverse("accounts:sign_in")
    assert not SupportRequest.objects.exists()


def test_a_contact_cannot_raise_one_on_another_organisations_request(client, signed):
    own = FederationRequestFactory(state=State.FEDERATED)
    sign_in(client, own.contacts.get(role=ContactRole.SPOC).email)

    response = client.post(NEW, form(signed))

    assert "Select a valid choice" in text(response)
    assert not SupportRequest.objects.exists()


def test_the_team_replies_in_the_admin_and_the_contact_reads_it_by_email_and_online(
    client, signed, feedback_user, mailoutbox
):
    tech = signed.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)
    client.post(NEW, form(signed))
    support = SupportRequest.objects.get()
    staff = StaffClient()
    staff.force_login(feedback_user)

    response = staff.post(
        reverse("admin:support_supportrequest_change", args=[support.pk]),
        {"status": "waiting", "reply": "Please check external access allows nhs.net."},
    )

    assert response.status_code == 302
    support.refresh_from_db()
    assert support.status == "waiting"
    assert AuditEvent.objects.get(action="support.updated").actor == feedback_user
    run_email_jobs()
    (to_contact,) = [m for m in mailoutbox if m.to == [tech.email] and "support" in m.subject]
    assert "Waiting on your organisation" in to_contact.body
    assert "Please check external access allows nhs.net." in to_contact.body
    page = text(client.get(reverse("support:detail", args=[support.reference])))
    assert "NHSmail Feedback team" in page and "external access allows nhs.net" in page

    # The contact answers: the request goes back to the team.
    client.post(reverse("support:detail", args=[support.reference]), {"body": "Done, thanks."})
    support.refresh_from_db()
    assert support.status == "open"
    assert support.replies.last().author_email == tech.email


def test_another_organisations_support_request_is_404(client, signed):
    tech = signed.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)
    client.post(NEW, form(signed))
    support = SupportRequest.objects.get()
    stranger = StaffClient()
    sign_in(stranger, FederationRequestFactory(state=State.FEDERATED).contacts.first().email)

    response = stranger.get(reverse("support:detail", args=[support.reference]))

    assert response.status_code == 404
    assert "blocked by your organisation" not in text(response)
    assert support.reference not in text(stranger.get(reverse("support:list")))


def test_the_service_desk_cannot_work_support_requests(client, signed, service_desk_user):
    sign_in(client, signed.contacts.get(role=ContactRole.SPOC).email)
    client.post(NEW, form(signed))
    support = SupportRequest.objects.get()
    staff = StaffClient()
    staff.force_login(service_desk_user)

    url = reverse("admin:support_supportrequest_change", args=[support.pk])
    assert staff.post(url, {"status": "resolved"}).status_code == 403
    assert SupportRequest.objects.get().status == "open"


def test_when_whoever_raised_it_is_removed_the_spoc_hears_from_the_team(
    client, signed, feedback_user, mailoutbox
):
    tech = signed.contacts.get(role=ContactRole.TECHNICAL)
    sign_in(client, tech.email)
    client.post(NEW, form(signed))
    Contact.objects.filter(pk=tech.pk).update(removed_at=timezone.now())
    support = SupportRequest.objects.get()
    staff = StaffClient()
    staff.force_login(feedback_user)

    staff.post(
        reverse("admin:support_supportrequest_change", args=[support.pk]),
        {"status": "resolved", "reply": "Fixed on our side."},
    )
    run_email_jobs()

    (update,) = [m for m in mailoutbox if "Your support request" in m.subject]
    assert update.to == [signed.contacts.get(role=ContactRole.SPOC).email]
    assert "Fixed on our side." in update.body
