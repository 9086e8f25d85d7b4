"""Every operation of the API, for every kind of key, with the answer each gets.

The suite fails when an operation is added to the API (a URL under the "api" namespace, or a
method on one) without a row here, and when a view declares another scope than its row.
"""

from datetime import timedelta
from typing import NamedTuple

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from api.models import ApiKey
from api.permissions import ANY_KEY, required_scope
from api.scopes import SCOPES
from api.services import api_key_revoke

from .conftest import calling_with

pytestmark = pytest.mark.django_db

KEYS = ["no key", "expired key", "revoked key", "key without the scope", "key with the scope"]
METHODS = ("get", "post", "put", "patch", "delete")
# Path arguments: a reference nobody was given, so an operation on one object answers 404.
MADE_UP = {"reference": "XX-999999"}

# (method, URL name) -> (the scope it needs, its answer to a key with that scope: what it gives
# for MADE_UP path arguments, and for a POST with an empty body and an Idempotency-Key).
OPERATIONS: dict[tuple[str, str], tuple[str, int]] = {
    ("GET", "api:whoami"): (ANY_KEY, 200),
    ("GET", "api:request_list"): ("requests:read", 200),
    ("POST", "api:request_list"): ("requests:write", 400),
    ("GET", "api:request_detail"): ("requests:read", 404),
    ("GET", "api:request_timeline"): ("requests:read", 404),
    ("GET", "api:request_checks"): ("requests:read", 404),
    ("GET", "api:request_evidence"): ("requests:read", 404),
    ("GET", "api:support_list"): ("support:read", 200),
    ("GET", "api:support_detail"): ("support:read", 404),
    ("POST", "api:support_reply"): ("support:write", 404),
    ("GET", "api:allowlist"): ("allowlist:read", 200),
    ("GET", "api:allowlist_change_set"): ("allowlist:read", 200),
    ("POST", "api:allowlist_change_set_applied"): ("allowlist:apply", 400),
}
# The schema and its documentation are for anyone, with a key or without.
PUBLIC = {("GET", "api:schema"), ("GET", "api:docs")}


class Route(NamedTuple):
    view_class: type
    url: str  # with MADE_UP path arguments


def api_operations() -> dict[tuple[str, str], Route]:
    """(METHOD, "api:<name>") -> its view and URL, for every route the resolver has under api."""
    found: dict[tuple[str, str], Route] = {}

    def walk(patterns, namespace):
        for pattern in patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
                walk(pattern.url_patterns, inner if pattern.namespace else namespace)
            elif isinstance(pattern, URLPattern) and namespace and (
                namespace == "api" or namespace.startswith("api:")
            ):
                view_class = pattern.callback.cls  # type: ignore[attr-defined]
                name = f"{namespace}:{pattern.name}"
                arguments = {
                    argument: MADE_UP[argument]
                    for argument in getattr(pattern.pattern, "converters", {})
                }
                for method in METHODS:
                    if hasattr(view_class, method):
                        found[(method.upper(), name)] = Route(
                            view_class, reverse(name, kwargs=arguments)
                        )

    walk(get_resolver().url_patterns, "")
    return found


def test_every_operation_the_url_resolver_exposes_has_a_row_and_no_row_is_stale():
    exposed = set(api_operations())
    assert exposed == set(OPERATIONS) | PUBLIC


def test_every_view_declares_the_scope_its_row_names():
    views = api_operations()
    declared = {
        operation: required_scope(views[operation].view_class, operation[0])
        for operation in OPERATIONS
    }
    assert declared == {operation: scope for operation, (scope, _) in OPERATIONS.items()}


def test_every_operation_in_the_schema_has_a_row():
    schema = SchemaGenerator().get_schema(request=None, public=True)
    documented = set()
    for path, operations in schema["paths"].items():
        for method in operations:
            url = path.format(**MADE_UP)
            documented.add((method.upper(), resolve(url).view_name))
    assert documented == set(OPERATIONS)


@pytest.fixture
def keys(make_api_client):
    """make keys(scope) -> KEYS' names -> the Authorization to send (None: no header)."""

    def make(scope: str) -> dict[str, str | None]:
        _, expired = make_api_client(["support:read"], name="Expired key's client")
        ApiKey.objects.filter(client__name="Expired key's client").update(
            expires_at=timezone.now() - timedelta(seconds=1)
        )
        revoked_client, revoked = make_api_client(name="Revoked key's client")
        api_key_revoke(key_id=revoked_client.keys.get().pk, actor=revoked_client.created_by)
        _, without = make_api_client(
            [other for other in SCOPES if other != scope], name="Client without the scope"
        )
        _, holding = make_api_client([scope] if scope else [], name="Client with the scope")
        return dict(zip(KEYS, [None, expired, revoked, without, holding], strict=True))

    return make


def call(method: str, url: str, plaintext: str | None):
    caller = calling_with(plaintext)
    if method == "POST":
        return caller.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="matrix")
    return caller.generic(method, url)


@pytest.mark.parametrize("operation", sorted(OPERATIONS), ids=" ".join)
def test_each_key_gets_the_documented_answer(keys, operation):
    method, _ = operation
    scope, answer = OPERATIONS[operation]
    url = api_operations()[operation].url

    answers = {kind: call(method, url, plaintext) for kind, plaintext in keys(scope).items()}

    without_scope = answer if scope == ANY_KEY else 403
    assert {kind: response.status_code for kind, response in answers.items()} == dict(
        zip(KEYS, [401, 401, 401, without_scope, answer], strict=True)
    )
    for kind in KEYS[:3]:
        assert answers[kind]["Content-Type"] == "application/problem+json"
        assert answers[kind]["WWW-Authenticate"] == 'Bearer realm="api"'


@pytest.mark.parametrize("operation", sorted(PUBLIC), ids=" ".join)
def test_the_schema_and_its_documentation_are_open_to_everyone(keys, operation):
    method, name = operation

    answers = {
        kind: call(method, reverse(name), plaintext).status_code
        for kind, plaintext in keys("support:read").items()
    }

    assert answers == dict.fromkeys(KEYS, 200)


@pytest.mark.parametrize("operation", sorted(OPERATIONS), ids=" ".join)
def test_a_method_the_operation_does_not_have_is_405_with_allow_for_a_live_key(
    make_api_client, operation
):
    _, plaintext = make_api_client(name="Every scope")
    route = api_operations()[operation]
    offered = {method for method, name in api_operations() if name == operation[1]}

    response = calling_with(plaintext).delete(route.url, HTTP_IDEMPOTENCY_KEY="delete")
    without_key = calling_with(None).delete(route.url)

    assert "DELETE" not in offered
    assert response.status_code == 405
    implied = {"HEAD"} if "GET" in offered else set()  # Django's View answers HEAD with get()
    assert set(response["Allow"].replace(" ", "").split(",")) == offered | implied | {"OPTIONS"}
    assert without_key.status_code == 401


@pytest.mark.parametrize(
    "operation", sorted(op for op in OPERATIONS if op[0] == "GET"), ids=" ".join
)
def test_head_needs_the_scope_of_get_and_answers_as_get_does(keys, operation):
    scope, answer = OPERATIONS[operation]
    url = api_operations()[operation].url

    answers = {
        kind: calling_with(plaintext).head(url).status_code
        for kind, plaintext in keys(scope).items()
    }

    without_scope = answer if scope == ANY_KEY else 403
    assert answers == dict(zip(KEYS, [401, 401, 401, without_scope, answer], strict=True))
