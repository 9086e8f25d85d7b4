"""Webhook endpoints made through the services, for API clients made through theirs."""

import pytest

from api.services import api_client_create
from tests.factories import UserFactory
from webhooks.services import webhook_endpoint_create


@pytest.fixture
def webhook_admin(db):
    return UserFactory(username="wendy.webhooks", groups=["API administrators"])


@pytest.fixture
def make_endpoint(webhook_admin):
    """make_endpoint(events, url=..., scopes=..., client_name=...) -> (endpoint, secret)."""
    counter = iter(range(1, 1000))

    def make(
        events,
        *,
        url="https://receiver.example.org/hooks",
        scopes=("requests:read", "support:read", "allowlist:read"),
        client_name=None,
    ):
        client, _ = api_client_create(
            name=client_name or f"Client {next(counter)}", scopes=list(scopes), actor=webhook_admin
        )
        return webhook_endpoint_create(
            client_id=client.pk, url=url, events=list(events), actor=webhook_admin
        )

    return make
