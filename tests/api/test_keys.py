"""API clients and keys: a key shown once and kept hashed, rotation with two live keys,
expiry and revocation, last use, rate limits, and errors as problem+json."""

import hashlib
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from api.models import ApiClient, ApiKey
from api.services import (
    api_client_create,
    api_client_revoke,
    api_client_update,
    api_key_issue,
    api_key_revoke,
)
from portal_kit.errors import ActionRefused
from requests_app.models import AuditEvent
from tests.factories import UserFactory

from .conftest import calling_with

pytestmark = pytest.mark.django_db

ME = "/api/v1/me/"


def api_audit() -> list[tuple[str, str, str]]:
    return list(
        AuditEvent.objects.filter(action__startswith="api.")
        .order_by("pk")
        .values_list("action", "actor_label", "message")
    )


def test_a_client_is_registered_with_a_service_account_and_a_key_kept_only_as_its_hash(
    make_api_client, api_admin
):
    client, plaintext = make_api_client(["requests:read", "requests:write"], name="NHSmail portal")

    key = client.keys.get()
    assert plaintext.startswith(f"fpk_{key.prefix}_")
    assert key.secret_hash == hashlib.sha256(plaintext.encode()).hexdigest()
    assert plaintext not in {key.secret_hash, key.prefix}
    assert client.user.has_perm("requests_app.raise_on_behalf")
    assert not client.user.has_perm("support.change_supportrequest")
    assert not client.user.is_staff and not client.user.has_usable_password()
    assert api_audit() == [
        (
            "api.client_created",
            "ada.apiadmin",
            "API client NHSmail portal with scopes requests:read, requests:write.",
        ),
        (
            "api.key_issued",
            "ada.apiadmin",
            f"API client NHSmail portal: key fpk_{key.prefix} issued for 365 days.",
        ),
    ]


def test_a_live_key_answers_who_it_is_and_notes_its_last_use(make_api_client):
    client, plaintext = make_api_client(["allowlist:read"], name="Tenant automation")

    response = calling_with(plaintext).get(ME)

    assert response.status_code == 200
    assert response.json()["client"] == "Tenant automation"
    assert response.json()["scopes"] == ["allowlist:read"]
    assert client.keys.get().last_used_at is not None


@pytest.mark.parametrize(
    "header",
    [
        None,
        "Bearer",
        "Basic dXNlcjpwYXNz",
        "Bearer fpk_00000000_not-a-real-secret",
        "Bearer not-even-the-shape",
    ],
    ids=["no key", "empty bearer", "basic", "unknown key", "bad shape"],
)
def test_without_a_live_key_the_answer_is_401_problem_json_with_the_scheme(header, make_api_client):
    make_api_client()
    caller = calling_with(None)
    if header:
        caller.credentials(HTTP_AUTHORIZATION=header)

    response = caller.get(ME)

    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"] == 'Bearer realm="api"'
    assert response.json()["status"] == 401


def test_a_key_with_the_right_prefix_but_a_wrong_secret_is_refused(make_api_client):
    _, plaintext = make_api_client()
    forged = plaintext[:-4] + ("AAAA" if not plaintext.endswith("AAAA") else "BBBB")

    assert calling_with(forged).get(ME).status_code == 401


def test_an_expired_key_stops_working_at_its_expiry(make_api_client):
    client, plaintext = make_api_client(key_days=1)

    with time_machine.travel(timezone.now() + timedelta(days=1, seconds=1)):
        response = calling_with(plaintext).get(ME)

    assert response.status_code == 401
    assert "expired or revoked" in response.json()["detail"]


def test_rotation_two_keys_live_at_once_and_a_third_refused_until_one_is_revoked(
    make_api_client, api_admin
):
    client, old = make_api_client()
    new = api_key_issue(client_id=client.pk, actor=api_admin)

    assert calling_with(old).get(ME).status_code == 200
    assert calling_with(new.plaintext).get(ME).status_code == 200
    with pytest.raises(ActionRefused, match="2 live keys already"):
        api_key_issue(client_id=client.pk, actor=api_admin)

    old_key = client.keys.exclude(prefix=new.prefix).get()
    api_key_revoke(key_id=old_key.pk, actor=api_admin)

    assert calling_with(old).get(ME).status_code == 401
    assert calling_with(new.plaintext).get(ME).status_code == 200
    assert api_audit()[-2:] == [
        (
            "api.key_issued",
            "ada.apiadmin",
            f"API client Service desk system: key fpk_{new.prefix} issued for 365 days.",
        ),
        (
            "api.key_revoked",
            "ada.apiadmin",
            f"API client Service desk system: key fpk_{old_key.prefix} revoked.",
        ),
    ]


def test_a_revoked_client_has_no_working_key_and_can_get_none(make_api_client, api_admin):
    client, plaintext = make_api_client()

    api_client_revoke(client_id=client.pk, actor=api_admin)

    assert calling_with(plaintext).get(ME).status_code == 401
    assert not ApiKey.objects.live().exists()
    with pytest.raises(ActionRefused, match="was revoked"):
        api_key_issue(client_id=client.pk, actor=api_admin)
    assert api_audit()[-1][0] == "api.client_revoked"


def test_staff_without_the_permission_cannot_register_or_change_clients(make_api_client):
    client, _ = make_api_client()
    feedback = UserFactory(username="fiona.feedback", groups=["Feedback team"])

    for attempt in (
        lambda: api_key_issue(client_id=client.pk, actor=feedback),
        lambda: api_client_revoke(client_id=client.pk, actor=feedback),
        lambda: api_client_update(
            client_id=client.pk, scopes=[], rate_limit_per_minute=5, actor=feedback
        ),
    ):
        with pytest.raises(ActionRefused, match="permission to manage API clients"):
            attempt()
    assert client.keys.count() == 1


def test_changing_scopes_changes_the_service_accounts_permissions(make_api_client, api_admin):
    client, _ = make_api_client(["requests:read"])

    api_client_update(
        client_id=client.pk,
        scopes=["support:write", "requests:read"],
        rate_limit_per_minute=30,
        actor=api_admin,
    )

    client = ApiClient.objects.get(pk=client.pk)
    assert client.scopes == ["requests:read", "support:write"]
    assert client.user.has_perm("support.change_supportrequest")
    assert api_audit()[-1] == (
        "api.client_changed",
        "ada.apiadmin",
        "API client Service desk system: scopes requests:read -> requests:read, support:write; "
        "rate limit 120 -> 30 a minute.",
    )


def test_over_the_rate_limit_the_answer_is_429_with_retry_after(make_api_client):
    _, plaintext = make_api_client(rate_limit_per_minute=3)
    caller = calling_with(plaintext)

    answers = [caller.get(ME).status_code for _ in range(4)]

    assert answers == [200, 200, 200, 429]
    refused = caller.get(ME)
    assert refused["Content-Type"] == "application/problem+json"
    assert 0 < int(refused["Retry-After"]) <= 60


def test_a_session_does_not_open_the_api(admin_client):
    """Staff signed in to the admin have a session cookie; the API ignores it."""
    assert admin_client.get(ME).status_code == 401


def test_an_unknown_api_path_is_a_problem_json_404(api):
    response = api.get("/api/v1/no-such-thing/")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"


def test_the_schema_and_its_documentation_are_served_without_a_cdn(client):
    schema = client.get("/api/v1/schema/")
    docs = client.get("/api/v1/docs/")

    assert schema.status_code == 200
    assert b"/api/v1/me/" in schema.content
    assert docs.status_code == 200
    assert b"cdn" not in docs.content.lower()
    assert b"swagger-ui" in docs.content


@pytest.mark.parametrize(
    ("scope", "permission"),
    [
        ("requests:write", "requests_app.raise_on_behalf"),
        ("support:write", "support.change_supportrequest"),
        ("allowlist:apply", "requests_app.federate_request"),
    ],
)
def test_no_one_gives_a_client_a_permission_they_do_not_hold(make_api_client, scope, permission):
    """An API administrator who is not in the Feedback team cannot make a client that
    federates, replies to support or raises requests in their stead."""
    only_admin = UserFactory(username="andy.apionly", groups=["API administrators"])
    assert not only_admin.has_perm(permission)
    reader, _ = make_api_client(["requests:read"], name="Reader")

    with pytest.raises(ActionRefused, match=f"the scope {scope}: it needs the permission"):
        api_client_create(name="Overreach", scopes=[scope], actor=only_admin)
    with pytest.raises(ActionRefused, match=f"the scope {scope}"):
        api_client_update(
            client_id=reader.pk, scopes=[scope], rate_limit_per_minute=120, actor=only_admin
        )

    assert not ApiClient.objects.filter(name="Overreach").exists()
    assert ApiClient.objects.get(pk=reader.pk).scopes == ["requests:read"]
    client, _ = api_client_create(name="Reads only", scopes=["support:read"], actor=only_admin)
    assert client.scopes == ["support:read"]  # read scopes give no permission: allowed


def test_names_that_slugify_alike_get_accounts_of_their_own(make_api_client):
    first, _ = make_api_client(["requests:read"], name="Service desk")
    second, _ = make_api_client(["requests:read"], name="Service-desk")
    third, _ = make_api_client(["requests:read"], name="Служба")
    fourth, _ = make_api_client(["requests:read"], name="Сервис")

    usernames = [c.user.username for c in (first, second, third, fourth)]
    assert len(set(usernames)) == 4
    assert usernames[0] == "api-client-service-desk"
    assert all(name.startswith("api-client-") for name in usernames)
