"""API clients and keys for the API tests: each fixture makes a real client through the services."""

import pytest
from rest_framework.test import APIClient

from api.scopes import SCOPES
from api.services import api_client_create
from tests.factories import UserFactory


@pytest.fixture
def api_admin(db):
    """An API administrator who may herself do what every scope lets a client do."""
    return UserFactory(
        username="ada.apiadmin", groups=["API administrators", "Feedback team", "Service desk"]
    )


@pytest.fixture
def make_api_client(api_admin):
    """make_api_client(scopes, name=...) -> (ApiClient, plaintext key)."""

    def make(scopes=tuple(SCOPES), *, name="Service desk system", **options):
        client, key = api_client_create(name=name, scopes=list(scopes), actor=api_admin, **options)
        return client, key.plaintext

    return make


def calling_with(plaintext: str | None) -> APIClient:
    caller = APIClient()
    if plaintext is not None:
        caller.credentials(HTTP_AUTHORIZATION=f"Bearer {plaintext}")
    return caller


@pytest.fixture
def api(make_api_client):
    """An APIClient calling with a key of a client holding every scope."""
    _, plaintext = make_api_client()
    return calling_with(plaintext)
