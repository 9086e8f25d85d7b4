"""Staff register a client and rotate its keys in the admin: each key shown once."""

import re

import pytest

from api.models import ApiClient, ApiKey
from tests.conftest import StaffClient
from tests.factories import UserFactory

from .conftest import calling_with

pytestmark = pytest.mark.django_db

KEY = re.compile(r'value="(fpk_[0-9a-f]{8}_[\w-]+)"')


@pytest.fixture
def staff(api_admin):
    browser = StaffClient()
    browser.force_login(api_admin)
    return browser


def test_registering_a_client_shows_its_key_once_and_the_key_works(staff):
    response = staff.post(
        "/admin/api/apiclient/add/",
        {
            "name": "Customer Service Portal",
            "description": "Raises requests for organisations without NHSmail",
            "scopes": ["requests:read", "requests:write"],
            "rate_limit_per_minute": "60",
            "key_days": "90",
        },
    )

    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    plaintext = KEY.search(response.content.decode())[1]
    client = ApiClient.objects.get(name="Customer Service Portal")
    assert client.scopes == ["requests:read", "requests:write"]
    assert calling_with(plaintext).get("/api/v1/me/").status_code == 200
    page = staff.get(f"/admin/api/apiclient/{client.pk}/change/").content.decode()
    assert plaintext not in page
    assert f"fpk_{client.keys.get().prefix}_…" in page


def test_issuing_a_second_key_then_revoking_the_first_rotates_without_downtime(
    staff, make_api_client
):
    client, first = make_api_client()
    first_key = client.keys.get()

    shown = staff.post(f"/admin/api/apiclient/{client.pk}/issue-key/", {"key_days": "30"})
    second = KEY.search(shown.content.decode())[1]
    assert calling_with(first).get("/api/v1/me/").status_code == 200
    assert calling_with(second).get("/api/v1/me/").status_code == 200

    staff.post(f"/admin/api/apiclient/keys/{first_key.pk}/revoke/")

    assert calling_with(first).get("/api/v1/me/").status_code == 401
    assert calling_with(second).get("/api/v1/me/").status_code == 200
    assert ApiKey.objects.live().count() == 1


def test_a_third_live_key_is_refused_with_a_message(staff, make_api_client, api_admin):
    client, _ = make_api_client()
    staff.post(f"/admin/api/apiclient/{client.pk}/issue-key/", {"key_days": "30"})

    response = staff.post(f"/admin/api/apiclient/{client.pk}/issue-key/", follow=True)

    assert "Revoke the one being replaced first" in response.content.decode()
    assert client.keys.count() == 2


def test_the_feedback_team_cannot_reach_the_key_buttons(make_api_client, feedback_user):
    client, _ = make_api_client()
    browser = StaffClient()
    browser.force_login(feedback_user)

    response = browser.post(f"/admin/api/apiclient/{client.pk}/issue-key/")

    assert response.status_code == 403
    assert client.keys.count() == 1


def test_a_name_taken_in_another_case_or_a_scope_beyond_the_admin_is_a_form_error(
    make_api_client,
):
    make_api_client(["requests:read"], name="Service desk")
    only_admin = UserFactory(username="andy.apionly", groups=["API administrators"])
    browser = StaffClient()
    browser.force_login(only_admin)

    response = browser.post(
        "/admin/api/apiclient/add/",
        {"name": "service DESK", "scopes": ["allowlist:apply"], "rate_limit_per_minute": "60"},
    )

    assert response.status_code == 200  # the form again, not a 500
    page = response.content.decode()
    assert "There is already an API client called service DESK." in page
    assert "You may not give a client the scope allowlist:apply" in page
    assert ApiClient.objects.count() == 1
