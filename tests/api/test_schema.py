"""Schemathesis runs every operation of the served OpenAPI schema through Django's WSGI app
with a key holding every scope, and checks each answer against what the schema documents.

All of schemathesis' default checks run, among them not_a_server_error,
status_code_conformance, content_type_conformance, response_schema_conformance,
negative_data_rejection (a request the schema forbids is refused), positive_data_acceptance
(one it allows is not), ignored_auth (no key, no answer) and unsupported_method (405).
Examples are bounded and derandomized, so a CI run is reproducible; the seeded support request
is the schema's documented example reference, so reads and replies reach 200/201 as well as 404.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from federation_portal.wsgi import application
from requests_app.models import AllowListEntry, State
from support.models import SupportRequest
from tests.factories import FederationRequestFactory

SCHEMA = "/api/v1/schema/?format=json"


@pytest.fixture
def same_connection(db):
    """Calls through the WSGI app run on the test's connection, inside its transaction.

    Django closes a connection not in autocommit when a request starts or finishes, which
    would end the test's transaction; django.test.Client disconnects that handler for the same
    reason while it calls the app.
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


# Loaded as the test module is collected: the schema view is public and reads no database.
# (schemathesis.pytest.from_fixture would load it per test, but it reads a node attribute
# pytest 9 no longer has.)
# A body the schema allows may still be refused by the portal's rules (a domain already
# requested, a public suffix): that is the documented 422, an answer positive data may get.
CONFIG = SchemathesisConfig.from_dict(
    {
        "checks": {
            "positive_data_acceptance": {
                "expected-statuses": ["2xx", "401", "403", "404", "409", "422", "429"]
            }
        }
    }
)
schema = schemathesis.openapi.from_wsgi(SCHEMA, application, config=CONFIG)


@pytest.fixture
def seeded(db):
    """A federated request with its domains on the allow list, and a support request on it."""
    req = FederationRequestFactory(
        state=State.FEDERATED, domains=["alpha.example.org.uk", "beta.example.org.uk"]
    )
    for name in ("alpha.example.org.uk", "beta.example.org.uk"):
        AllowListEntry.objects.create(
            domain=name, request=req, effective_date=timezone.localdate(), source="portal"
        )
    technical = req.contacts.get(name="Tess Tech")
    return SupportRequest.objects.create(
        request=req,
        reference="SR-000001",
        raised_by_email=technical.email,
        raised_by_name=technical.name,
        category="cannot_message",
        description="Messages to nhs.net users fail.",
        started_on=timezone.localdate(),
    )


@pytest.fixture
def every_scope(make_api_client):
    _, plaintext = make_api_client(name="Schemathesis")
    return {"Authorization": f"Bearer {plaintext}"}


@schema.parametrize()
@settings(
    max_examples=30,
    deadline=None,
    derandomize=True,
    database=None,  # nothing kept between runs: the same examples every time
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_its_schema_says(case, same_connection, seeded, every_scope):
    case.call_and_validate(headers=every_scope)
