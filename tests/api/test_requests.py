"""The federation-request resources: list with filters and cursor pages, detail, timeline, checks,
evidence, and raising a request on an organisation's behalf."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from requests_app.audit import audit
from requests_app.models import AuditEvent, Channel, FederationRequest, State
from requests_app.services.domain_additions import domain_addition_request
from requests_app.services.lifecycle import request_federate
from tests.api.conftest import calling_with
from tests.factories import (
    EvidenceItemFactory,
    FederationRequestFactory,
    OrganisationFactory,
    complete_check_run,
    request_in,
)

pytestmark = pytest.mark.django_db

LIST = "/api/v1/requests/"


def raise_body(**changes):
    body = {
        "organisation": {
            "name": "Riverside Hospice",
            "ods_code": "rr8",
            "has_nhsmail_presence": False,
        },
        "domains": ["riverside-hospice.org.uk", "bücher.example.org.uk"],
        "justification": "Teams with the ICB",
        "requester": {"name": "Robin Requester", "email": "robin@riverside-hospice.org.uk"},
        "spoc": {
            "name": "Sam Spoc",
            "job_title": "IT Manager",
            "email": "sam@riverside-hospice.org.uk",
            "phone": "01234 567890",
        },
        "technical_contact": {
            "name": "Tess Tech",
            "job_title": "Teams Administrator",
            "email": "tess@riverside-hospice.org.uk",
        },
        "signatory": None,
        "on_behalf_reason": "No NHSmail presence; ticket SD-1234",
    }
    body.update(changes)
    return body


def post(caller, body, key="key-1"):
    return caller.post(LIST, body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def test_list_pages_newest_first_with_a_cursor(api):
    made = [FederationRequestFactory(checked=False) for _ in range(5)]
    first = api.get(LIST, {"page_size": 2})
    assert first.status_code == 200
    assert [row["reference"] for row in first.data["results"]] == [
        made[4].reference,
        made[3].reference,
    ]
    second = api.get(first.data["next"])
    third = api.get(second.data["next"])
    seen = [row["reference"] for page in (first, second, third) for row in page.data["results"]]
    assert seen == [req.reference for req in reversed(made)]
    assert third.data["next"] is None
    assert first.data["results"][0]["domains"] == [f"partner{made[4].pk}.example.org.uk"]


def test_pages_hold_50_unless_asked_and_never_more_than_200(api):
    organisation = OrganisationFactory()
    FederationRequest.objects.bulk_create(
        FederationRequest(
            organisation=organisation,
            reference=f"FR-{number:06d}",
            requester_name="Robin Requester",
            requester_email="robin@example.org",
        )
        for number in range(1, 202)
    )
    assert len(api.get(LIST).data["results"]) == 50
    assert len(api.get(LIST, {"page_size": 7}).data["results"]) == 7
    most = api.get(LIST, {"page_size": 200}).data
    assert len(most["results"]) == 200 and most["next"] is not None
    assert len(api.get(most["next"]).data["results"]) == 1  # next keeps page_size
    assert api.get(LIST, {"page_size": 201}).status_code == 400  # the documented maximum


def test_the_cursor_walk_sees_rows_created_in_the_same_instant_once_each(api):
    organisation = OrganisationFactory()
    instant = timezone.now()
    FederationRequest.objects.bulk_create(
        FederationRequest(
            organisation=organisation,
            reference=f"FR-{number:06d}",
            requester_name="Robin Requester",
            requester_email="robin@example.org",
            created_at=instant,
        )
        for number in range(1, 8)
    )
    seen, url, params = [], LIST, {"page_size": 2}
    while url:
        page = api.get(url, params).data
        seen += [row["reference"] for row in page["results"]]
        url, params = page["next"], None
    assert seen == [f"FR-{number:06d}" for number in range(7, 0, -1)]


def test_list_filters_by_state_organisation_and_domain(api):
    submitted = FederationRequestFactory(checked=False, domains=["xn--bcher-kva.example.org.uk"])
    federated = FederationRequestFactory(checked=False, state=State.FEDERATED)
    federated.organisation.ods_code = "RR8"
    federated.organisation.name = "Riverside Hospice"
    federated.organisation.save()

    def refs(**params):
        answer = api.get(LIST, params)
        assert answer.status_code == 200, answer.data
        return [row["reference"] for row in answer.data["results"]]

    assert refs(state="federated") == [federated.reference]
    assert refs(organisation="rr8") == [federated.reference]
    assert refs(organisation="riverside HOSPICE") == [federated.reference]
    # A U-label is normalised to the A-label stored, as the form does.
    assert refs(domain="BÜCHER.example.org.uk") == [submitted.reference]
    assert refs(domain="xn--bcher-kva.example.org.uk.") == [submitted.reference]


def test_list_filters_by_the_newest_audited_change(api):
    old = FederationRequestFactory(checked=False)
    changed = FederationRequestFactory(checked=False)
    long_ago = timezone.now() - timedelta(days=30)
    AuditEvent.objects.create(request=old, actor_label="system", action="x", created_at=long_ago)
    AuditEvent.objects.create(
        request=changed, actor_label="system", action="x", created_at=long_ago
    )
    # A change to a request's parts (here a contact) is audited, not saved on the request row.
    audit(changed, None, "contact.changed", message="SPOC's phone number")
    since = (timezone.now() - timedelta(days=1)).isoformat()
    answer = api.get(LIST, {"updated_since": since})
    assert [row["reference"] for row in answer.data["results"]] == [changed.reference]
    assert answer.data["results"][0]["last_changed_at"] is not None


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("state", "nonsense"),
        ("updated_since", "yesterday"),
        ("updated_since", "2026-01-31T09:00:00"),  # no offset: ambiguous
        ("updated_since", "2026-02-31T09:00:00Z"),  # no such day
        ("page_size", "0"),
        ("page_size", "ten"),
        ("page_size", "²"),
    ],
)
def test_a_bad_filter_is_a_400_problem_naming_it(api, param, value):
    answer = api.get(LIST, {param: value})
    assert answer.status_code == 400
    assert answer["Content-Type"] == "application/problem+json"
    assert list(answer.json()["errors"]) == [param]


def test_a_domain_filter_that_is_no_domain_name_matches_no_request(api):
    FederationRequestFactory(domains=["riverside-hospice.org.uk"])
    answer = api.get(LIST, {"domain": "not a domain"})
    assert answer.status_code == 200
    assert answer.data["results"] == []


def test_a_misspelt_filter_is_a_400_naming_it(api):
    answer = api.get(LIST, {"stat": "signed"})
    assert answer.status_code == 400
    assert list(answer.json()["errors"]) == ["stat"]


def test_a_cursor_the_api_did_not_give_names_no_page(api):
    """Not a 400: no schema can say which strings are cursors (api.pagination)."""
    answer = api.get(LIST, {"cursor": "not-a-cursor"})
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"


def _list_queries(caller) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert caller.get(LIST, {"page_size": 200}).status_code == 200
    return len(queries)


def test_queries_per_page_do_not_grow_with_the_rows(make_api_client):
    _, plaintext = make_api_client(["requests:read"])
    caller = calling_with(plaintext)
    for req in FederationRequestFactory.create_batch(5, checked=False):
        audit(req, None, "request.note")
    few = _list_queries(caller)
    for req in FederationRequestFactory.create_batch(45, checked=False):
        audit(req, None, "request.note")
    assert FederationRequest.objects.count() == 50
    many = _list_queries(caller)
    assert many == few


def test_detail_says_state_domains_contacts_agreement_and_allow_list(api):
    req = FederationRequestFactory(
        checked=False, domains=["one.example.org.uk", "two.example.org.uk"]
    )
    answer = api.get(f"{LIST}{req.reference}/")
    assert answer.status_code == 200
    body = answer.data
    assert body["reference"] == req.reference and body["state"] == "submitted"
    assert [(d["name"], d["status"]) for d in body["domains"]] == [
        ("one.example.org.uk", "live"),
        ("two.example.org.uk", "live"),
    ]
    assert {(c["role"], c["name"], c["email"]) for c in body["contacts"]} == {
        ("spoc", "Sam Spoc", f"spoc{req.pk}@partner.example"),
        ("technical", "Tess Tech", f"tech{req.pk}@partner.example"),
    }
    assert body["agreement"]["status"] == "none"
    assert body["allow_list"] == {"status": "not_listed", "listed_domains": []}
    # The reference is found whatever its case.
    assert api.get(f"{LIST}{req.reference.lower()}/").status_code == 200


@pytest.mark.parametrize("tail", ["", "timeline/", "checks/", "evidence/"])
@pytest.mark.parametrize("reference", ["FR-999999", "anything"])
def test_an_unknown_reference_is_a_404_problem(api, tail, reference):
    answer = api.get(f"{LIST}{reference}/{tail}")
    assert answer.status_code == 404
    assert answer["Content-Type"] == "application/problem+json"
    assert answer.json()["status"] == 404


def test_timeline_is_the_state_changes_oldest_first(api):
    req = FederationRequestFactory(checked=False)
    audit(req, None, "request.submitted", to_state="submitted")
    audit(req, None, "contact.changed")  # not a state change: not on the timeline
    audit(req, None, "request.reviewed", from_state="submitted", to_state="reviewed")
    events = api.get(f"{LIST}{req.reference}/timeline/").data["events"]
    assert [(e["action"], e["to_state"]) for e in events] == [
        ("request.submitted", "submitted"),
        ("request.reviewed", "reviewed"),
    ]


def test_checks_are_the_latest_completed_run_per_domain(api):
    req = FederationRequestFactory(checked=False)
    assert api.get(f"{LIST}{req.reference}/checks/").data["domains"] == []
    complete_check_run(req, statuses={"dmarc": "fail"})
    body = api.get(f"{LIST}{req.reference}/checks/").data
    (domain,) = body["domains"]
    assert domain["domain"] == f"partner{req.pk}.example.org.uk" and domain["verdict"] == "fail"
    assert domain["results"][0] == {
        "id": "dmarc",
        "status": "fail",
        "sentence": "dmarc: fail",
        "details": {},
        "fix": "",
    }


def test_evidence_is_per_criterion(api):
    req = FederationRequestFactory(checked=False)
    item = EvidenceItemFactory(request=req)
    rows = api.get(f"{LIST}{req.reference}/evidence/").data["criteria"]
    by_code = {row["criterion"]: row for row in rows}
    assert by_code[item.criterion.code]["status"] == "pending"
    assert {row["status"] for row in rows if row["criterion"] != item.criterion.code} == {
        "not_received"
    }


def test_reading_needs_requests_read(make_api_client):
    _, plaintext = make_api_client(["support:read"])
    answer = calling_with(plaintext).get(LIST)
    assert answer.status_code == 403
    assert "requests:read" in answer.json()["detail"]


def test_raise_on_behalf_is_audited_with_the_clients_service_account(make_api_client):
    client, plaintext = make_api_client(["requests:read", "requests:write"])
    answer = post(calling_with(plaintext), raise_body())
    assert answer.status_code == 201, answer.json()
    req = FederationRequest.objects.get()
    assert answer["Location"] == f"/api/v1/requests/{req.reference}/"
    assert answer.data["reference"] == req.reference
    assert [d["a_label"] for d in answer.data["domains"]] == [
        "riverside-hospice.org.uk",
        "xn--bcher-kva.example.org.uk",
    ]
    assert req.channel == Channel.SERVICE_DESK and req.raised_by == client.user
    assert req.raised_on_behalf_reason == "No NHSmail presence; ticket SD-1234"
    assert req.organisation.ods_code == "RR8"
    events = list(
        AuditEvent.objects.filter(request=req).values_list(
            "actor", "actor_label", "action", "to_state"
        )
    )
    account = client.user
    assert events == [
        (account.pk, account.username, "request.submitted", "submitted"),
        (account.pk, account.username, "checks.requested", ""),
    ]


def test_raising_needs_requests_write(make_api_client):
    _, plaintext = make_api_client(["requests:read"])
    answer = post(calling_with(plaintext), raise_body())
    assert answer.status_code == 403
    assert not FederationRequest.objects.exists()


def test_raise_refuses_what_the_form_refuses_with_its_sentences(api):
    answer = post(
        api,
        raise_body(
            domains=["not a domain"],
            spoc={"name": "Sam", "job_title": "IT", "email": "not-an-email"},
            on_behalf_reason="   ",
        ),
    )
    # Well formed by the schema, refused by the form's rules: 422, not a malformed 400.
    assert answer.status_code == 422
    assert answer.json()["type"].endswith("/refused-by-rules")
    assert answer["Content-Type"] == "application/problem+json"
    errors = answer.json()["errors"]
    assert set(errors) == {"domains", "spoc.email", "on_behalf_reason"}
    assert errors["domains"] == ["“not a domain” contains a space. Enter one domain name per line."]
    assert errors["spoc.email"] == [
        "Enter the SPOC's email address in the correct format, like name@example.org.uk"
    ]
    assert not FederationRequest.objects.exists()


def test_raise_with_a_body_of_the_wrong_shape_names_the_fields(api):
    answer = post(api, {"organisation": "Riverside", "domains": "a.example"})
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert {"organisation.non_field_errors", "domains", "spoc"} <= set(errors)


def test_a_domain_live_elsewhere_is_refused_with_the_service_desks_sentence(api):
    holder = FederationRequestFactory(checked=False, domains=["riverside-hospice.org.uk"])
    answer = post(api, raise_body())
    assert answer.status_code == 422
    (sentence,) = answer.json()["errors"]["domains"]
    assert "riverside-hospice.org.uk" in sentence and holder.reference in sentence
    assert FederationRequest.objects.count() == 1


def test_a_domain_asked_for_after_federation_is_pending_not_live(api, feedback_user):
    req = request_in(State.EVIDENCE_VERIFIED, feedback_user, domains=["kept.example.org.uk"])
    request_federate(request_id=req.pk, actor=feedback_user)
    spoc = req.contacts.get(role="spoc").email
    domain_addition_request(request_id=req.pk, actor_email=spoc, domain="asked.example.org.uk")

    body = api.get(f"{LIST}{req.reference}/").json()

    assert {(d["a_label"], d["status"]) for d in body["domains"]} == {
        ("kept.example.org.uk", "live"),
        ("asked.example.org.uk", "pending_addition"),
    }
    listed = api.get(LIST, {"state": "federated"}).json()["results"]
    assert [row["domains"] for row in listed] == [["kept.example.org.uk"]]
