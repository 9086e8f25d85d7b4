"""The admin of requests_app: allow list downloads, the outbox and sent emails."""

import json

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from requests_app.models import AllowListEntry, AuditEvent, OutboxMessage

pytestmark = pytest.mark.django_db


@pytest.fixture
def entries():
    today = timezone.localdate()
    for name in ("zeta.example.org.uk", "xn--bcher-kva.example.org.uk", "alpha.example.org.uk"):
        AllowListEntry.objects.create(domain=name, effective_date=today, source="import")


def test_feedback_team_downloads_the_entra_policy_and_it_is_audited(
    client, feedback_user, entries, tmp_path
):
    client.force_login(feedback_user)
    changelist = client.get(reverse("admin:requests_app_allowlistentry_changelist"))
    assert "Download: Entra B2B management policy (JSON)" in changelist.content.decode()

    response = client.get(
        reverse("admin:requests_app_allowlistentry_export", args=["entra-b2b-json"])
    )

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="nhsmail-allow-list')
    policy = json.loads(response.content)
    allowed = policy["B2BManagementPolicy"]["InvitationsAllowedAndBlockedDomainsPolicy"]
    assert allowed["AllowedDomains"] == [
        "alpha.example.org.uk",
        "xn--bcher-kva.example.org.uk",
        "zeta.example.org.uk",
    ]
    output = tmp_path / "policy.json"
    call_command("export_allowlist", "--format", "entra-b2b-json", "--output", str(output))
    assert json.loads(output.read_text()) == policy
    event = AuditEvent.objects.get(action="allowlist.exported")
    assert event.actor == feedback_user


def test_an_unknown_format_is_a_404_and_a_user_without_view_rights_is_refused(
    client, feedback_user, outsider_user, entries
):
    client.force_login(feedback_user)
    assert (
        client.get(reverse("admin:requests_app_allowlistentry_export", args=["xml"])).status_code
        == 404
    )
    client.force_login(outsider_user)
    response = client.get(reverse("admin:requests_app_allowlistentry_export", args=["csv"]))
    assert response.status_code == 403
    assert not AuditEvent.objects.filter(action="allowlist.exported").exists()


def test_operators_see_jobs_waiting_for_the_broker_and_the_team_sees_sent_emails(
    admin_client, client, feedback_user
):
    OutboxMessage.objects.create(
        task_name="requests_app.tasks.send_request_email",
        kwargs={"request_id": 1},
        attempts=3,
        last_error="OperationalError: Error 111 connecting to 127.0.0.1:6379.",
    )
    waiting = admin_client.get(
        reverse("admin:requests_app_outboxmessage_changelist") + "?dispatched_at__isempty=1"
    )
    assert "Error 111 connecting" in waiting.content.decode()

    client.force_login(feedback_user)
    assert client.get(reverse("admin:requests_app_sentemail_changelist")).status_code == 200
    assert client.get(reverse("admin:requests_app_outboxmessage_changelist")).status_code == 403
