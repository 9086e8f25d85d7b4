"""Confirming the requester: a public form's submission becomes a request only once the person
who typed it has followed the link emailed to the address they gave."""

import threading
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from requests_app.models import (
    AuditEvent,
    CheckRun,
    FederationRequest,
    OutboxMessage,
    PendingSubmission,
    State,
)
from requests_app.services import submissions
from tests.factories import FederationRequestFactory
from tests.helpers import confirmation_link_path, submit_lakeside_care
from tests.requests_app.test_views import text, valid_form

pytestmark = pytest.mark.django_db

FORM_URL = reverse("requests_app:request_form")
CHECK_EMAIL_URL = reverse("requests_app:check_email")
LINK_TASK = "requests_app.tasks.send_confirmation_link"


def submit(client, **overrides) -> PendingSubmission:
    response = client.post(
        FORM_URL,
        valid_form(
            signatory_name="Dana Director",
            signatory_job_title="Director of Digital",
            signatory_email="dana@ashworth-care.org.uk",
            **overrides,
        ),
    )
    assert response.status_code == 302
    assert response["Location"] == CHECK_EMAIL_URL
    return PendingSubmission.objects.latest("pk")


def email_link(submission: PendingSubmission) -> str:
    """Run the worker's job for the newest link asked for; the path the email gives."""
    submission.refresh_from_db()
    assert submissions.submission_send_link(
        submission_id=submission.pk, link_number=submission.links_asked
    )
    return confirmation_link_path(mail.outbox[-1].body)


def test_a_submission_emails_only_the_requester_and_checks_nothing_until_confirmed(client):
    submission = submit(client)

    # Nothing exists for staff to see, no domain check or request email is queued: one job,
    # the link to the address typed as the requester's.
    assert not FederationRequest.objects.exists()
    assert not CheckRun.objects.exists()
    assert [(row.task_name, row.kwargs) for row in OutboxMessage.objects.all()] == [
        (LINK_TASK, {"submission_id": submission.pk, "link_number": 1})
    ]
    email_link(submission)
    [message] = mail.outbox
    assert message.to == ["robin@ashworth-care.org.uk"]
    assert message.subject == "Confirm your email address to send your Teams federation request"
    assert "ashworth-care.org.uk, bücher.example.org.uk" in message.body
    assert "for 24 hours" in message.body
    asked = AuditEvent.objects.get(action="request.confirmation_asked")
    assert asked.request is None and asked.actor_label == "robin@ashworth-care.org.uk"

    page = text(client.get(CHECK_EMAIL_URL))
    assert "<title>Confirm your email address" in page
    assert "<strong>robin@ashworth-care.org.uk</strong>" in page


def test_opening_the_link_shows_a_button_and_only_pressing_it_sends_the_request(client):
    path = email_link(submit(client))

    page = client.get(path)  # what a mail scanner's visit does: nothing

    assert page.status_code == 200
    assert "Confirm and send the request</button>" in text(page)
    assert not FederationRequest.objects.exists()

    response = client.post(path)

    assert response.status_code == 302
    assert response["Location"] == reverse("requests_app:confirmation")
    req = FederationRequest.objects.get()
    assert req.state == State.SUBMITTED
    event = AuditEvent.objects.get(request=req, action="request.submitted")
    assert "The requester confirmed their email address by link." in event.message
    # Now, and only now: the request email (requester and SPOC) and the domain checks.
    tasks = [row.task_name for row in OutboxMessage.objects.filter(dispatched_at__isnull=True)]
    assert "requests_app.tasks.send_request_email" in tasks
    assert req.check_runs.count() == 1
    confirmation = text(client.get(response["Location"]))
    assert f'<strong id="reference">{req.reference}</strong>' in confirmation


def test_a_link_works_once(client):
    path = email_link(submit(client))
    client.post(path)

    again = Client().post(path)

    assert again.status_code == 400
    assert submissions.LINK_USED in text(again)
    assert FederationRequest.objects.count() == 1
    assert submissions.LINK_USED in text(Client().get(path))


def test_an_unknown_link_is_not_found(client):
    path = reverse("requests_app:confirm_email", args=["no-such-link"])
    response = client.get(path)

    assert response.status_code == 404
    assert submissions.LINK_NOT_VALID in text(response)
    assert client.post(path).status_code == 400


def test_an_expired_link_is_refused_at_the_moment_it_is_used_and_the_job_deletes_it(client):
    path = email_link(submit(client))
    confirmed_path = email_link(submit(Client(), domains="other-care.org.uk"))
    Client().post(confirmed_path)

    with time_machine.travel(timezone.now() + timedelta(hours=24, seconds=1)):
        # The hourly job has not run yet: the link is judged by its own expiry.
        response = client.post(path)
        assert response.status_code == 400
        assert "This confirmation link has expired: links work for 24 hours." in text(response)

        assert submissions.submissions_expire() == 1

    assert not PendingSubmission.objects.exists()
    assert FederationRequest.objects.count() == 1  # the confirmed one, untouched
    expired = AuditEvent.objects.get(action="request.confirmation_expired")
    assert expired.message.startswith("1 submission(s) never confirmed")


def test_a_link_can_be_sent_again_and_the_old_one_stops_working(client):
    submission = submit(client)
    first = email_link(submission)

    response = client.post(CHECK_EMAIL_URL)

    assert response.status_code == 200
    assert "We have sent a new link. The one before it no longer works." in text(response)
    second = email_link(submission)
    assert second != first
    assert client.post(first).status_code == 400
    assert client.post(second).status_code == 302


def test_links_sent_again_are_limited(client):
    submission = submit(client)
    for _ in range(submissions.MAX_LINKS_PER_SUBMISSION - 1):
        assert client.post(CHECK_EMAIL_URL).status_code == 200

    response = client.post(CHECK_EMAIL_URL)

    assert response.status_code == 400
    assert "We have sent 3 links already." in text(response)
    submission.refresh_from_db()
    assert submission.links_asked == submissions.MAX_LINKS_PER_SUBMISSION


def test_the_worker_sends_each_link_once_and_never_a_superseded_one(client):
    submission = submit(client)
    client.post(CHECK_EMAIL_URL)  # link 2 asked for before the worker ran link 1's job

    assert not submissions.submission_send_link(submission_id=submission.pk, link_number=1)
    assert submissions.submission_send_link(submission_id=submission.pk, link_number=2)
    assert not submissions.submission_send_link(submission_id=submission.pk, link_number=2)
    assert len(mail.outbox) == 1


def test_a_domain_taken_since_the_form_was_sent_is_refused_at_confirmation(client):
    path = email_link(submit(client, domains="ashworth-care.org.uk"))
    FederationRequestFactory(domains=["ashworth-care.org.uk"])

    response = client.post(path)

    assert response.status_code == 400
    assert "“ashworth-care.org.uk” is already in another request" in text(response)
    assert PendingSubmission.objects.get().confirmed_at is None


def test_confirming_is_throttled_per_client_address(client, settings):
    settings.CONFIRM_POSTS_PER_IP_PER_HOUR = 2
    path = reverse("requests_app:confirm_email", args=["guess"])
    assert [client.post(path).status_code for _ in range(3)] == [400, 400, 429]


def test_the_check_email_page_is_only_for_the_browser_that_submitted(client):
    submit(client)

    assert Client().get(CHECK_EMAIL_URL)["Location"] == reverse("requests_app:start")


def test_the_service_desk_raising_a_request_needs_no_confirmation(service_desk_user):
    req = submit_lakeside_care(actor=service_desk_user, on_behalf_reason="Phoned the desk.")

    assert req.state == State.SUBMITTED
    assert not PendingSubmission.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_two_presses_at_once_make_one_request():
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL")
    path = email_link(submit(Client()))
    barrier = threading.Barrier(2)
    statuses = []

    def press():
        barrier.wait()
        statuses.append(Client().post(path).status_code)
        connection.close()

    threads = [threading.Thread(target=press) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(statuses) == [302, 400]
    assert FederationRequest.objects.count() == 1
