"""manage.py api_client_create: a client registered by a named member of staff, its key once."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from api.models import ApiClient
from requests_app.models import AuditEvent
from tests.api.conftest import calling_with
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_the_printed_key_works_and_the_actor_is_audited(api_admin):
    out = StringIO()
    call_command(
        "api_client_create",
        name="Service desk system",
        scopes="requests:read,requests:write",
        actor=api_admin.username,
        days=30,
        stdout=out,
    )
    plaintext = out.getvalue().strip().splitlines()[-1]
    client = ApiClient.objects.get(name="Service desk system")
    assert client.scopes == ["requests:read", "requests:write"]
    assert calling_with(plaintext).get("/api/v1/requests/").status_code == 200
    assert AuditEvent.objects.filter(action="api.client_created", actor=api_admin).count() == 1


def test_a_member_of_staff_without_the_role_is_refused(db):
    UserFactory(username="no.role")
    with pytest.raises(CommandError, match="permission"):
        call_command("api_client_create", name="X", scopes="requests:read", actor="no.role")
    assert not ApiClient.objects.exists()
