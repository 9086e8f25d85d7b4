"""Reconciliation: what the Teams or Entra tenant holds, read back from the text staff copy out of
it, against the allow list in effect today, domain by domain in both directions."""

import html
import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from portal_kit.errors import ActionRefused
from requests_app.allow_list_formats import decode_tenant_text, parse_tenant_allow_list
from requests_app.models import AuditEvent, State
from requests_app.services.allow_list import allow_list_reconcile
from requests_app.services.lifecycle import request_federate
from tests.factories import request_in

pytestmark = pytest.mark.django_db

RECONCILE_URL = reverse("admin:requests_app_allowlistentry_reconcile")

# Get-CsTenantFederationConfiguration as PowerShell lists it: the allowed domains on one line
# (wrapped when long), and a blocked list that must not be read as allowed.
TEAMS_CONFIGURATION = """
Identity                                    : Global
AllowedDomains                              : Domain=harbourside.example.org.uk,Domain=stray.exa
                                              mple.com,Domain=xn--bcher-kva.example.org.uk
BlockedDomains                              : {Domain=blocked.example.com}
AllowFederatedUsers                         : True
AllowPublicUsers                            : False
"""
# (Get-CsTenantFederationConfiguration).AllowedDomains.AllowedDomain | Format-List
TEAMS_EXPANDED = """
Identity          : Domain=harbourside.example.org.uk
Domain            : harbourside.example.org.uk
ProxyFqdn         :
VerificationLevel : UnverifiedAccess

Identity          : Domain=Stray.Example.com
Domain            : Stray.Example.com
ProxyFqdn         :
VerificationLevel : UnverifiedAccess
"""


def test_the_teams_configuration_is_read_for_its_allowed_domains_only():
    tenant = parse_tenant_allow_list(TEAMS_CONFIGURATION)

    assert tenant.source == "teams"
    assert tenant.domains == {
        "harbourside.example.org.uk",
        "stray.example.com",
        "xn--bcher-kva.example.org.uk",
    }
    assert parse_tenant_allow_list(TEAMS_EXPANDED).domains == {
        "harbourside.example.org.uk",
        "stray.example.com",
    }


def test_entra_policy_json_is_read_as_the_definition_or_as_graphs_policy_object():
    definition = {
        "B2BManagementPolicy": {
            "InvitationsAllowedAndBlockedDomainsPolicy": {
                "AllowedDomains": ["harbourside.example.org.uk", "bücher.example.org.uk"]
            }
        }
    }
    graph = {"id": "x", "definition": [json.dumps(definition)], "type": "B2BManagementPolicy"}

    for text in (json.dumps(definition), json.dumps(graph)):
        tenant = parse_tenant_allow_list(text)
        assert tenant.source == "entra"
        assert tenant.domains == {"harbourside.example.org.uk", "xn--bcher-kva.example.org.uk"}


@pytest.mark.parametrize(
    ("text", "sentence"),
    [
        ("hello world", "No allowed domains were found"),
        ('{"B2BManagementPolicy": {}}', "is not Entra's B2B management policy"),
        ("{not json", "The JSON cannot be read"),
    ],
)
def test_text_that_is_neither_format_is_refused_with_a_sentence(text, sentence):
    with pytest.raises(ValueError, match=sentence):
        parse_tenant_allow_list(text)


def test_a_tenant_open_to_every_known_domain_is_said_to_be_so():
    tenant = parse_tenant_allow_list("AllowedDomains : AllowAllKnownDomains\nBlockedDomains : {}")
    assert tenant.allows_all_known and tenant.domains == frozenset()


def test_names_that_are_not_domains_are_listed_not_dropped():
    tenant = parse_tenant_allow_list("AllowedDomains : Domain=good.example.org.uk,Domain=bad_name!")
    assert tenant.domains == {"good.example.org.uk"} and tenant.unreadable == ("bad_name!",)


def test_powershell_files_in_utf16_and_utf8_with_a_bom_are_read():
    text = "AllowedDomains : Domain=good.example.org.uk"
    for data in (text.encode("utf-16"), b"\xef\xbb\xbf" + text.encode()):
        assert decode_tenant_text(data) == text
    with pytest.raises(ValueError, match="not text in UTF-8 or UTF-16"):
        decode_tenant_text(b"\xff\xff\x00\x81")


@pytest.fixture
def federated(feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["harbourside.example.org.uk"])
    request_federate(request_id=req.pk, actor=feedback_user)
    other = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["missing.example.org.uk"])
    request_federate(request_id=other.pk, actor=feedback_user)
    return req


def test_a_planted_difference_in_each_direction_is_found_and_audited(federated, feedback_user):
    result = allow_list_reconcile(text=TEAMS_EXPANDED, actor=feedback_user)

    assert result.on_tenant_only == ["stray.example.com"]
    assert result.missing_on_tenant == ["missing.example.org.uk"]
    assert result.matched == 1
    event = AuditEvent.objects.get(action="allowlist.reconciled")
    assert event.actor == feedback_user
    assert event.message.startswith("teams: 1 match, 1 on the tenant only, 1 missing there")


def test_reconciling_needs_the_feedback_teams_permission(service_desk_user):
    with pytest.raises(ActionRefused, match="You do not have permission"):
        allow_list_reconcile(text=TEAMS_EXPANDED, actor=service_desk_user)


def test_the_admin_page_compares_a_pasted_or_uploaded_tenant_list(
    client, federated, feedback_user, service_desk_user
):
    client.force_login(feedback_user)

    pasted = client.post(RECONCILE_URL, {"text": TEAMS_EXPANDED})
    uploaded = client.post(
        RECONCILE_URL,
        {"file": SimpleUploadedFile("tenant.txt", TEAMS_EXPANDED.encode("utf-16"))},
    )

    for response in (pasted, uploaded):
        page = response.content.decode()
        assert response.status_code == 200
        assert '<ul id="on-tenant-only"><li>stray.example.com</li></ul>' in page
        assert '<ul id="missing-on-tenant"><li>missing.example.org.uk</li></ul>' in page
    empty = client.post(RECONCILE_URL, {"text": " "})
    assert empty.status_code == 400
    assert "Paste the tenant's allowed domains, or upload them." in html.unescape(
        empty.content.decode()
    )
    client.force_login(service_desk_user)
    assert client.get(RECONCILE_URL).status_code == 403
