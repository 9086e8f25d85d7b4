"""Contacts sign in by emailed link: single use, 10 minutes, one browser, hashed, throttled."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from accounts.access import SESSION_EMAIL
from accounts.models import SignInLink
from accounts.services import sign_in as sign_in_service
from accounts.views import BROWSER_COOKIE
from requests_app.models import AuditEvent, Contact, OutboxMessage
from tests.accounts.helpers import ask_for_link, emailed_link, sign_in
from tests.factories import FederationRequestFactory

pytestmark = pytest.mark.django_db

HOME = "/account/"


@pytest.fixture
def spoc_email():
    req = FederationRequestFactory()
    return req.contacts.get(role="spoc").email


def test_asking_answers_the_same_for_a_contact_and_a_stranger(client, spoc_email):
    known = ask_for_link(client, spoc_email)
    unknown = ask_for_link(Client(), "nobody@unknown.example")

    assert known.status_code == unknown.status_code == 302
    assert known["Location"] == unknown["Location"] == reverse("accounts:sign_in_sent")
    # The same work for both: one job each for the worker, which decides; no link made yet.
    jobs = OutboxMessage.objects.order_by("pk")
    assert [job.kwargs["email"] for job in jobs] == [spoc_email, "nobody@unknown.example"]
    assert not SignInLink.objects.exists()
    page = client.get(known["Location"]).content.decode()
    assert f"If <strong>{spoc_email}</strong> is a contact" in page


def test_the_worker_emails_a_contact_a_link_stored_only_as_its_hash(client, spoc_email):
    path = emailed_link(client, spoc_email)

    secret = path.rstrip("/").rsplit("/", 1)[1]
    link = SignInLink.objects.get()
    assert link.email == spoc_email
    assert link.token_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(vars(link))
    assert timedelta(minutes=9) < link.expires_at - timezone.now() <= timedelta(minutes=10)
    assert AuditEvent.objects.filter(action="contact.sign_in_link_sent").count() == 1


def test_the_worker_sends_nothing_to_a_stranger_and_records_the_attempt():
    assert (
        sign_in_service.sign_in_link_send(email="nobody@unknown.example", browser_hash="x") is False
    )
    assert mail.outbox == []
    assert not SignInLink.objects.exists()
    event = AuditEvent.objects.get(action="contact.sign_in_refused")
    assert "nobody@unknown.example" in event.message


def test_opening_the_link_shows_a_button_and_neither_uses_it_nor_signs_in(client, spoc_email):
    path = emailed_link(client, spoc_email)
    scanner = Client()  # a mail scanner opening every link, without the browser's cookie

    for visitor in (scanner, client):
        page = visitor.get(path)
        assert page.status_code == 200
        assert b'<button class="nhsuk-button" data-module="nhsuk-button" type="submit">Sign in' in (
            page.content
        )
        assert SESSION_EMAIL not in visitor.session

    assert SignInLink.objects.get().used_at is None
    assert client.get(HOME)["Location"] == reverse("accounts:sign_in")


def test_pressing_the_button_signs_in_once(client, spoc_email):
    response = sign_in(client, spoc_email)

    assert response.redirect_chain == [(HOME, 302)]
    assert client.session[SESSION_EMAIL] == spoc_email
    assert SignInLink.objects.get().used_at is not None
    assert AuditEvent.objects.get(action="contact.signed_in").actor_label == spoc_email


def test_a_used_link_is_refused(client, spoc_email):
    path = emailed_link(client, spoc_email)
    client.post(path)
    client.post(reverse("accounts:sign_out"))

    again = client.post(path)

    assert again.status_code == 400
    assert "has been used already" in again.content.decode()
    assert SESSION_EMAIL not in client.session


def test_a_link_expires_after_ten_minutes(client, spoc_email):
    path = emailed_link(client, spoc_email)

    with time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)):
        late = client.post(path)
        shown = client.get(path)

    assert late.status_code == 400
    assert "has expired: links work for 10 minutes" in late.content.decode()
    assert "has expired" in shown.content.decode()
    assert SESSION_EMAIL not in client.session


def test_a_link_works_only_in_the_browser_that_asked_for_it(client, spoc_email):
    path = emailed_link(client, spoc_email)
    other = Client()
    other.cookies[BROWSER_COOKIE] = "another-browser"

    for stranger in (Client(), other):
        refused = stranger.post(path)
        assert refused.status_code == 400
        assert "asked for in another browser" in refused.content.decode()

    assert SignInLink.objects.get().used_at is None
    assert client.post(path)["Location"] == HOME  # still good where it was asked for


def test_an_unknown_link_is_refused_in_words(client):
    response = client.post("/account/sign-in/link/not-a-real-secret/")
    assert response.status_code == 400
    assert "This sign-in link is not valid" in response.content.decode()


def test_a_contact_removed_before_using_the_link_cannot_sign_in(client, spoc_email):
    path = emailed_link(client, spoc_email)
    Contact.objects.filter(email=spoc_email).update(removed_at=timezone.now())

    refused = client.post(path)

    assert refused.status_code == 400
    assert "no longer a contact" in refused.content.decode()


def test_a_contact_removed_while_signed_in_loses_access_on_the_next_click(client, spoc_email):
    sign_in(client, spoc_email)
    assert client.get(HOME).status_code == 200

    Contact.objects.filter(email=spoc_email).update(removed_at=timezone.now())

    response = client.get(HOME, follow=True)
    assert response.redirect_chain == [(reverse("accounts:sign_in"), 302)]
    assert "no longer a contact" in response.content.decode()
    assert SESSION_EMAIL not in client.session


def test_signing_out_ends_the_session_on_the_server(client, spoc_email):
    sign_in(client, spoc_email)
    old_session = client.cookies["sessionid"].value

    client.post(reverse("accounts:sign_out"))

    replay = Client()
    replay.cookies["sessionid"] = old_session
    assert replay.get(HOME)["Location"] == reverse("accounts:sign_in")
    assert AuditEvent.objects.filter(action="contact.signed_out", actor_label=spoc_email).exists()


def test_signing_out_needs_a_post_with_a_csrf_token(spoc_email):
    browser = Client(enforce_csrf_checks=True)
    assert browser.get(reverse("accounts:sign_out")).status_code == 405
    assert browser.post(reverse("accounts:sign_out")).status_code == 403


def test_signing_in_starts_a_new_session_key(client, spoc_email):
    client.get(reverse("accounts:sign_in"))
    ask_for_link(client, spoc_email)
    before = client.session.session_key

    sign_in(client, spoc_email)

    assert client.session.session_key != before


def test_links_asked_for_one_address_are_throttled(client, settings, spoc_email):
    settings.SIGN_IN_LINKS_PER_ADDRESS_PER_HOUR = 3
    answers = [ask_for_link(Client(REMOTE_ADDR=f"192.0.2.{n}"), spoc_email) for n in range(4)]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert OutboxMessage.objects.count() == 3


def test_asking_from_one_address_is_throttled(settings):
    settings.SIGN_IN_POSTS_PER_IP_PER_HOUR = 3
    browser = Client(REMOTE_ADDR="198.51.100.7")
    answers = [ask_for_link(browser, f"person{n}@example.org") for n in range(4)]

    assert [answer.status_code for answer in answers] == [302, 302, 302, 429]
    assert "Too many requests" in answers[-1].content.decode()


def test_a_bad_address_gets_a_clear_error(client):
    response = ask_for_link(client, "not an address")
    assert response.status_code == 200
    assert "Enter an email address in the correct format" in response.content.decode()
    assert not OutboxMessage.objects.exists()


def test_a_refused_redemption_is_audited(client, spoc_email):
    path = emailed_link(client, spoc_email)

    Client().post(path)  # another browser

    event = AuditEvent.objects.get(action="contact.sign_in_link_refused")
    assert event.message.startswith(f"{spoc_email}: This sign-in link was asked for in another")
