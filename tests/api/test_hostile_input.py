"""Hostile and odd bodies sent to every POST of the API: each gets a problem+json answer in the
4xx range, never a 500, and nothing is written."""

import json

import pytest
from django.urls import reverse

from requests_app.models import FederationRequest, State
from support.models import SupportReply
from tests.factories import FederationRequestFactory

from .test_support import raised

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_request(db):
    return raised(FederationRequestFactory(state=State.FEDERATED))


def post_raw(api, url, body: bytes, content_type="application/json", key="hostile"):
    return api.generic(
        "POST", url, body, content_type=content_type, HTTP_IDEMPOTENCY_KEY=key
    )


def posts(reference="SR-000001"):
    return [
        reverse("api:request_list"),
        reverse("api:support_reply", args=[reference]),
        reverse("api:allowlist_change_set_applied"),
    ]


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"", "application/json"),
        (b"{", "application/json"),
        (b"[]", "application/json"),
        (b"null", "application/json"),
        (b'"text"', "application/json"),
        (b"\xff\xfe{}", "application/json"),  # not UTF-8
        (b'{"a": NaN}', "application/json"),
        (b"[" * 5000 + b"]" * 5000, "application/json"),  # nesting past the parser's depth
        (b"a=b", "application/x-www-form-urlencoded"),
        (b"{}", "text/plain"),
        (b"{}", "application/json; charset=latin-1"),
    ],
    ids=lambda v: repr(v)[:30],
)
def test_a_body_that_is_not_a_json_object_is_a_4xx_problem(
    api, support_request, body, content_type
):
    for url in posts(support_request.reference):
        answer = post_raw(api, url, body, content_type)
        assert 400 <= answer.status_code < 500, (url, answer.status_code)
        assert answer["Content-Type"] == "application/problem+json", url


def test_a_body_past_the_size_limit_is_refused(api, support_request, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"justification": "x" * 20_000}).encode()
    for url in posts(support_request.reference):
        answer = post_raw(api, url, body)
        assert answer.status_code in (400, 413), (url, answer.status_code)
        assert answer["Content-Type"] == "application/problem+json"
    assert FederationRequest.objects.count() == 1  # the support request's own


@pytest.mark.parametrize("nasty", ["\x00", "\ud800", "a\x00b"])
def test_nul_and_lone_surrogates_in_strings_are_refused_not_a_500(api, support_request, nasty):
    request_body = {
        "organisation": {"name": f"Riverside{nasty}", "has_nhsmail_presence": False},
        "domains": [f"riverside{nasty}.org.uk"],
        "justification": nasty,
        "requester": {"name": nasty, "email": "robin@riverside.org.uk"},
        "spoc": {"name": nasty, "job_title": "IT", "email": "sam@riverside.org.uk"},
        "technical_contact": {"name": "Tess", "job_title": "IT", "email": "tess@riverside.org.uk"},
        "on_behalf_reason": nasty,
    }
    raw = json.dumps(request_body).encode()
    answer = post_raw(api, reverse("api:request_list"), raw)
    assert answer.status_code == 422  # valid JSON the schema allows, refused by the rules
    assert "NUL character or a lone surrogate" in str(answer.json()["errors"])
    reply = json.dumps({"status": "waiting", "reply": f"Try again{nasty}"}).encode()
    reply_url = reverse("api:support_reply", args=[support_request.reference])
    answer = post_raw(api, reply_url, reply, key="r")
    assert 400 <= answer.status_code < 500
    assert not FederationRequest.objects.exclude(pk=support_request.request_id).exists()
    assert not SupportReply.objects.exists()


GETS = [
    ("api:request_list", {}, ["state", "organisation", "domain", "updated_since", "cursor"]),
    ("api:support_list", {}, ["status", "request_reference", "cursor"]),
    ("api:allowlist_change_set", {}, ["format"]),
]
BY_REFERENCE = [
    "api:request_detail",
    "api:request_timeline",
    "api:request_checks",
    "api:request_evidence",
    "api:support_detail",
]


@pytest.mark.parametrize("nasty", ["\x00", "a\x00b", "%00", "é" * 300])
def test_nul_and_odd_text_in_query_and_path_is_a_4xx_or_nothing_found(api, nasty):
    for name, kwargs, params in GETS:
        for param in params:
            answer = api.get(reverse(name, kwargs=kwargs), {param: nasty})
            assert answer.status_code in (200, 400, 404), (name, param, answer.status_code)
    for name in BY_REFERENCE:
        answer = api.get(reverse(name, args=[f"FR-1{nasty}"]))
        assert answer.status_code in (400, 404), (name, answer.status_code)
        assert answer["Content-Type"] == "application/problem+json"
