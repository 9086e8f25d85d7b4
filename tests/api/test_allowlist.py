"""The allow list through the API: the snapshot, the change set since the last one applied (in
each export format, as JSON carrying the text and its SHA-256), and recording it applied."""

import hashlib
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from requests_app.models import AllowListApplication, AllowListEntry, AuditEvent, State
from tests.factories import FederationRequestFactory

from .conftest import calling_with

pytestmark = pytest.mark.django_db

SNAPSHOT = "/api/v1/allowlist/"
CHANGE_SET = "/api/v1/allowlist/change-set/"
APPLIED = "/api/v1/allowlist/change-set/applied/"


@pytest.fixture
def listed():
    """Two domains of a federated request in effect today, an imported one, and one that
    takes effect next week (on the snapshot, not yet in the change set)."""
    today = timezone.localdate()
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["alpha.example.org.uk", "beta.example.org.uk"]
    )
    for name in ("alpha.example.org.uk", "beta.example.org.uk"):
        AllowListEntry.objects.create(
            domain=name, request=req, effective_date=today, source="portal"
        )
    AllowListEntry.objects.create(
        domain="legacy.example.nhs.uk", effective_date=today - timedelta(days=400), source="import"
    )
    AllowListEntry.objects.create(
        domain="later.example.org.uk", effective_date=today + timedelta(days=7), source="import"
    )
    return req


@pytest.fixture
def automation(make_api_client):
    client, plaintext = make_api_client(
        ["allowlist:read", "allowlist:apply"], name="Tenant automation"
    )
    return client, calling_with(plaintext)


def test_the_snapshot_lists_the_entries_in_effect_today_with_their_dates(automation, listed):
    """What the tenant should hold now: an entry that starts next week is not in it yet (the
    change set brings it on its day)."""
    _, caller = automation
    today = timezone.localdate()
    AllowListEntry.objects.create(  # ended yesterday: off the list
        domain="gone.example.org.uk",
        effective_date=today - timedelta(days=30),
        effective_to=today - timedelta(days=1),
        source="import",
    )

    response = caller.get(SNAPSHOT)

    assert response.status_code == 200
    assert response.json() == {
        "on": today.isoformat(),
        "count": 3,
        "entries": [
            {"domain": "alpha.example.org.uk", "effective_date": today.isoformat(),
             "source": "portal", "request_reference": listed.reference},
            {"domain": "beta.example.org.uk", "effective_date": today.isoformat(),
             "source": "portal", "request_reference": listed.reference},
            {"domain": "legacy.example.nhs.uk",
             "effective_date": (today - timedelta(days=400)).isoformat(),
             "source": "import", "request_reference": ""},
        ],
    }


@pytest.mark.parametrize("fmt", ["csv", "json", "teams-powershell", "entra-b2b-json"])
def test_the_change_set_comes_in_each_format_with_its_sha256_and_each_export_is_audited(
    automation, listed, fmt
):
    client, caller = automation

    response = caller.get(CHANGE_SET, {"format": fmt})

    assert response.status_code == 200
    body = response.json()
    assert body["format"] == fmt
    assert body["add"] == [
        "alpha.example.org.uk", "beta.example.org.uk", "legacy.example.nhs.uk",
    ]
    assert body["remove"] == []
    assert body["sha256"] == hashlib.sha256(body["text"].encode()).hexdigest()
    assert "alpha.example.org.uk" in body["text"]
    assert "later.example.org.uk" not in body["text"]
    assert list(
        AuditEvent.objects.filter(action__startswith="allowlist.").values_list(
            "action", "actor_id", "actor_label", "message"
        )
    ) == [
        ("allowlist.change_set_exported", client.user.pk, "api-client-tenant-automation",
         f"{fmt}: +3 -0, SHA-256 {body['sha256']}."),
    ]


def test_the_json_change_set_text_is_the_rows_to_add(automation, listed):
    _, caller = automation

    body = caller.get(CHANGE_SET).json()  # json unless asked otherwise

    assert body["format"] == "json"
    assert body["content_type"] == "application/json"
    assert [(row["change"], row["domain"]) for row in json.loads(body["text"])] == [
        ("add", "alpha.example.org.uk"),
        ("add", "beta.example.org.uk"),
        ("add", "legacy.example.nhs.uk"),
    ]


@pytest.mark.parametrize(
    "query, field",
    [
        ({"format": "xml"}, "format"),
        ({"format": ""}, "format"),
        ({"fromat": "csv"}, "fromat"),  # misspelt: not quietly the JSON default
    ],
)
def test_a_format_that_does_not_exist_is_a_400_naming_the_field(
    automation, listed, query, field
):
    _, caller = automation

    response = caller.get(CHANGE_SET, query)

    assert response.status_code == 400
    assert list(response.json()["errors"]) == [field]
    assert not AuditEvent.objects.filter(action="allowlist.change_set_exported").exists()


def test_recording_the_change_set_applied_is_audited_as_the_client_and_empties_the_next(
    automation, listed
):
    client, caller = automation
    exported = caller.get(CHANGE_SET, {"format": "teams-powershell"}).json()

    response = caller.post(
        APPLIED,
        {"format": "teams-powershell", "sha256": exported["sha256"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="apply-1",
    )

    assert response.status_code == 201
    assert response.json() | {"applied_at": None} == {
        "applied_at": None,
        "applied_by": "api-client-tenant-automation",
        "format": "teams-powershell",
        "sha256": exported["sha256"],
        "added": 3,
        "removed": 0,
        "domains": ["alpha.example.org.uk", "beta.example.org.uk", "legacy.example.nhs.uk"],
    }
    application = AllowListApplication.objects.get()
    assert application.applied_by == client.user
    assert list(
        AuditEvent.objects.filter(action="allowlist.change_set_applied").values_list(
            "actor_id", "actor_label", "message"
        )
    ) == [
        (client.user.pk, "api-client-tenant-automation",
         f"teams-powershell: +3 -0, SHA-256 {exported['sha256']}. Added: alpha.example.org.uk, "
         "beta.example.org.uk, legacy.example.nhs.uk. Removed: none."),
    ]
    following = caller.get(CHANGE_SET).json()
    assert (following["add"], following["remove"]) == ([], [])
    assert following["warnings"] == ["Nothing has changed since the last change set applied."]


def test_a_sha256_that_is_not_the_current_change_sets_is_refused_with_409(automation, listed):
    _, caller = automation
    exported = caller.get(CHANGE_SET, {"format": "csv"}).json()
    # The allow list changes after the export: the file applied is not the current change set.
    AllowListEntry.objects.create(
        domain="new.example.org.uk", effective_date=timezone.localdate(), source="import"
    )

    response = caller.post(
        APPLIED,
        {"format": "csv", "sha256": exported["sha256"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="stale",
    )

    assert response.status_code == 409
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["detail"].startswith("That SHA-256 is not the current change set's")
    assert not AllowListApplication.objects.exists()
    assert not AuditEvent.objects.filter(action="allowlist.change_set_applied").exists()


@pytest.mark.parametrize("sha256", ["z" * 64, "a" * 63, 10**70, None, ""])
def test_a_sha256_that_is_not_64_hexadecimal_characters_is_a_400(automation, listed, sha256):
    _, caller = automation

    response = caller.post(
        APPLIED, {"format": "csv", "sha256": sha256}, format="json", HTTP_IDEMPOTENCY_KEY="bad"
    )

    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["sha256"]


def test_a_client_that_may_read_but_not_apply_is_refused_before_anything_is_recorded(
    make_api_client, listed
):
    _, plaintext = make_api_client(["allowlist:read"], name="Reporting")
    caller = calling_with(plaintext)
    exported = caller.get(CHANGE_SET, {"format": "csv"}).json()

    response = caller.post(
        APPLIED,
        {"format": "csv", "sha256": exported["sha256"]},
        format="json",
        HTTP_IDEMPOTENCY_KEY="no-scope",
    )

    assert response.status_code == 403
    assert not AllowListApplication.objects.exists()
