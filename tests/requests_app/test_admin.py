"""The admin of requests_app: allow list downloads, the outbox, sent emails and the read-only
audit log."""

import getpass
import html
import json
import re

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from requests_app.models import AllowListEntry, AuditEvent, OutboxMessage, State
from tests.factories import FederationRequestFactory, UserFactory

pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page as a person reads it: entities decoded, runs of whitespace made one space."""
    return re.sub(r"\s+", " ", html.unescape(response.content.decode()))


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
    admin_export, cli_export = AuditEvent.objects.filter(action="allowlist.exported").order_by("pk")
    assert (admin_export.actor, admin_export.actor_label) == (feedback_user, "fiona.feedback")
    assert admin_export.message.startswith("entra-b2b-json: nhsmail-allow-list-entra-b2b-json-")
    assert (cli_export.actor, cli_export.actor_label) == (
        None,
        f"{getpass.getuser()} (manage.py export_allowlist)",
    )
    assert cli_export.message == admin_export.message


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


# -- the audit log is read-only ------------------------------------------------------------------


@pytest.fixture
def audit_event(feedback_user):
    req = FederationRequestFactory(state=State.SUBMITTED)
    return AuditEvent.objects.create(
        request=req,
        actor=feedback_user,
        actor_label=feedback_user.username,
        action="request.reviewed",
        from_state="submitted",
        to_state="reviewed",
        message="ORIGINAL-MESSAGE",
    )


def test_the_audit_log_can_be_read(client, feedback_user, audit_event):
    client.force_login(feedback_user)

    listing = client.get(reverse("admin:requests_app_auditevent_changelist"))
    page = client.get(reverse("admin:requests_app_auditevent_change", args=[audit_event.pk]))

    assert listing.status_code == 200
    assert "request.reviewed" in text(listing)
    assert page.status_code == 200
    assert "ORIGINAL-MESSAGE" in text(page)
    assert 'name="_save"' not in page.content.decode()
    assert "deletelink" not in page.content.decode()
    assert reverse("admin:requests_app_auditevent_add") not in listing.content.decode()


@pytest.fixture(params=["feedback_user", "superuser"])
def staff(request):
    if request.param == "superuser":
        return UserFactory(username="root", is_superuser=True)
    return request.getfixturevalue(request.param)


def test_the_audit_log_cannot_be_added_to(client, staff):
    client.force_login(staff)
    url = reverse("admin:requests_app_auditevent_add")

    assert client.get(url).status_code == 403
    assert client.post(url, {"action": "request.federated", "actor_label": "me"}).status_code == 403
    assert not AuditEvent.objects.exists()


def test_the_audit_log_cannot_be_changed(client, staff, audit_event):
    client.force_login(staff)

    response = client.post(
        reverse("admin:requests_app_auditevent_change", args=[audit_event.pk]),
        {"action": "request.federated", "message": "TAMPERED", "actor_label": "nobody"},
    )

    assert response.status_code == 403
    audit_event.refresh_from_db()
    assert (audit_event.action, audit_event.message) == ("request.reviewed", "ORIGINAL-MESSAGE")


def test_the_audit_log_cannot_be_deleted(client, staff, audit_event):
    client.force_login(staff)
    url = reverse("admin:requests_app_auditevent_delete", args=[audit_event.pk])

    assert client.get(url).status_code == 403
    assert client.post(url, {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:requests_app_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [audit_event.pk], "post": "yes"},
    )
    assert AuditEvent.objects.filter(pk=audit_event.pk).exists()
