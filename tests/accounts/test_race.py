"""One sign-in link redeemed by many requests at once, on PostgreSQL: one session at most."""

import pytest
from django.db import connection
from django.test import Client

from accounts.models import SignInLink
from accounts.services import sign_in
from accounts.views import BROWSER_COOKIE
from requests_app.models import AuditEvent
from tests.factories import FederationRequestFactory
from tests.requests_app.test_race import outcomes, run_at_once

pytestmark = pytest.mark.django_db(transaction=True)


def test_ten_redemptions_of_one_link_at_once_sign_in_exactly_once(mailoutbox):
    assert connection.vendor == "postgresql", "the race needs PostgreSQL's row locks"
    email = FederationRequestFactory().contacts.get(role="spoc").email
    browser = "the-browser-that-asked"
    sign_in.sign_in_link_send(email=email, browser_hash=sign_in.secret_hash(browser))
    secret = mailoutbox[0].body.split("/account/sign-in/link/")[1].split("/")[0]

    def redeem(index):
        return sign_in.sign_in_link_redeem(secret=secret, browser_nonce=browser)

    results = run_at_once(10, redeem)

    assert outcomes(results) == ["ok"] + ["refused"] * 9
    assert {text for kind, text in results if kind == "refused"} == {sign_in.LINK_USED}
    assert AuditEvent.objects.filter(action="contact.signed_in").count() == 1
    assert SignInLink.objects.get().used_at is not None


def test_the_pages_sign_in_one_browser_when_posted_twice_at_once(mailoutbox):
    email = FederationRequestFactory().contacts.get(role="spoc").email
    browser = "shared-browser"
    sign_in.sign_in_link_send(email=email, browser_hash=sign_in.secret_hash(browser))
    secret = mailoutbox[0].body.split("/account/sign-in/link/")[1].split("/")[0]
    clients = [Client() for _ in range(2)]
    for client in clients:
        client.cookies[BROWSER_COOKIE] = browser

    results = run_at_once(
        2, lambda index: clients[index].post(f"/account/sign-in/link/{secret}/").status_code
    )

    assert sorted(value for _, value in results) == [302, 400]
    signed_in = [client for client in clients if client.get("/account/").status_code == 200]
    assert len(signed_in) == 1
