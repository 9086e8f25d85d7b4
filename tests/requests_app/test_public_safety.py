"""What keeps the public pages safe to leave open: throttles, private links, clean headers."""

import pytest
from django.urls import reverse

from requests_app.models import AuditEvent, FederationRequest, PendingSubmission
from tests.helpers import confirm_submission
from tests.requests_app.test_views import FORM_URL, submitted_request, valid_form

pytestmark = pytest.mark.django_db


def test_a_flood_of_posts_from_one_address_is_paused_with_a_page_that_says_so(client, settings):
    settings.REQUEST_FORM_POSTS_PER_HOUR = 3
    for _ in range(3):
        assert client.post(FORM_URL, {"organisation_name": ""}).status_code == 200

    response = client.post(FORM_URL, valid_form())

    assert response.status_code == 429
    assert "Too many requests" in response.content.decode()
    assert FederationRequest.objects.count() == 0
    other_address = client.post(FORM_URL, valid_form(), REMOTE_ADDR="192.0.2.7")
    assert other_address.status_code == 302


def test_one_email_address_can_make_only_so_many_requests_a_day(client, settings):
    settings.REQUESTS_PER_EMAIL_PER_DAY = 2
    for number in range(2):
        response = client.post(FORM_URL, valid_form(domains=f"site{number}.example.org.uk"))
        assert response.status_code == 302

    response = client.post(
        FORM_URL,
        valid_form(domains="site9.example.org.uk", requester_email="ROBIN@Ashworth-Care.org.uk"),
    )

    assert response.status_code == 429
    assert PendingSubmission.objects.count() == 2


def test_status_pages_are_never_cached_nor_indexed(client):
    req = submitted_request()
    response = client.get(reverse("requests_app:status", args=[req.status_token]))

    assert "no-store" in response["Cache-Control"]
    assert response["X-Robots-Tag"] == "noindex, nofollow"
    withdraw = client.get(reverse("requests_app:withdraw", args=[req.status_token]))
    assert "no-store" in withdraw["Cache-Control"]


def test_a_line_break_in_a_name_is_refused_before_it_can_reach_an_email_header(client):
    response = client.post(
        FORM_URL, valid_form(organisation_name="Ashworth\r\nBcc: everyone@example.com")
    )

    assert response.status_code == 200
    assert "Enter organisation name on one line" in response.content.decode()
    assert FederationRequest.objects.count() == 0


def test_behind_a_trusted_proxy_the_audit_records_the_client_address(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    response = client.post(
        FORM_URL,
        valid_form(),
        REMOTE_ADDR="10.0.0.2",
        HTTP_X_FORWARDED_FOR="203.0.113.99, 198.51.100.20",
    )

    assert response.status_code == 302
    event = AuditEvent.objects.get(action="request.confirmation_asked")
    assert event.ip_address == "198.51.100.20"  # what the trusted proxy saw; the rest is claims


def test_without_a_trusted_proxy_a_forwarded_header_is_ignored(client):
    client.post(FORM_URL, valid_form(), HTTP_X_FORWARDED_FOR="203.0.113.99")
    confirm_submission(client)

    assert AuditEvent.objects.get(action="request.confirmation_asked").ip_address == "127.0.0.1"
    assert AuditEvent.objects.get(action="request.submitted").ip_address == "127.0.0.1"
