"""The workbench's list of requests: a query count that does not grow with rows, search,
filters, and overdue requests first."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from requests_app.models import FederationRequest, State
from tests.factories import FederationRequestFactory, OrganisationFactory, request_in
from tests.workbench.helpers import CHANGELIST_URL, listed_references, text

pytestmark = pytest.mark.django_db

# -- the changelist ------------------------------------------------------------------------------


def make_requests(count: int, start: int) -> None:
    for n in range(start, start + count):
        FederationRequestFactory(
            domains=[f"site{n}-{i}.example.org.uk" for i in range(2 + n % 2)],
            reference=f"FR-{700000 + n}",
        )


def test_the_changelist_query_count_does_not_grow_with_rows(client, feedback_user):
    make_requests(5, start=0)
    client.force_login(feedback_user)
    client.get(CHANGELIST_URL)  # warm the session and content-type caches

    with CaptureQueriesContext(connection) as with_five:
        five = client.get(CHANGELIST_URL)
    make_requests(35, start=5)
    with CaptureQueriesContext(connection) as with_forty:
        forty = client.get(CHANGELIST_URL)

    assert len(listed_references(five)) == 5
    assert len(listed_references(forty)) == 40
    last_row = "site39-0.example.org.uk, site39-1.example.org.uk, site39-2.example.org.uk"
    assert last_row in text(forty)
    assert len(with_forty) == len(with_five), [q["sql"] for q in with_forty.captured_queries]


@pytest.fixture
def three_requests(feedback_user):
    return {
        "ashworth": FederationRequestFactory(
            organisation=OrganisationFactory(name="Ashworth Community Care"),
            domains=["ashworth-care.org.uk"],
            reference="FR-500001",
        ),
        "bravo": FederationRequestFactory(
            organisation=OrganisationFactory(name="Bravo Pharmacy Group"),
            domains=["bravo-pharmacy.co.uk", "xn--bcher-kva.example.org.uk"],
            reference="FR-500002",
            state=State.SIGNED,
        ),
        "castle": FederationRequestFactory(
            organisation=OrganisationFactory(name="Castle Hospice"),
            domains=["castle-hospice.org.uk"],
            reference="FR-500003",
            state=State.SIGNED,
        ),
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("q=FR-500002", ["FR-500002"]),
        ("q=ashworth community", ["FR-500001"]),
        ("q=castle", ["FR-500003"]),
        ("q=bravo-pharmacy.co.uk", ["FR-500002"]),
        ("q=hospice.org", ["FR-500003"]),
        ("state__exact=signed", ["FR-500003", "FR-500002"]),
        ("state__exact=submitted", ["FR-500001"]),
        ("state__exact=federated", []),
    ],
)
def test_the_changelist_searches_and_filters(
    client, feedback_user, three_requests, query, expected
):
    client.force_login(feedback_user)

    response = client.get(f"{CHANGELIST_URL}?{query}")

    assert response.status_code == 200
    assert listed_references(response) == expected


def test_the_changelist_finds_a_domain_by_the_name_it_shows(client, feedback_user, three_requests):
    client.force_login(feedback_user)

    response = client.get(f"{CHANGELIST_URL}?q=bücher.example.org.uk")

    assert "bücher.example.org.uk" in text(client.get(CHANGELIST_URL))
    assert listed_references(response) == ["FR-500002"]


def test_staff_see_overdue_requests_first(client, feedback_user):
    late = request_in(State.FPA_SENT, feedback_user)
    on_time = request_in(State.FPA_SENT, feedback_user)
    FederationRequest.objects.filter(pk=late.pk).update(
        fpa_sent_at=timezone.now() - timedelta(days=10)
    )
    client.force_login(feedback_user)
    url = reverse("admin:requests_app_federationrequest_changelist")

    page = client.get(url).content.decode()
    assert '<a href="?overdue=unsigned">1 unsigned agreement</a>' in page
    assert 'id="overdue-evidence"' not in page  # nothing of that kind is late
    filtered = client.get(url, {"overdue": "unsigned"}).content.decode()
    assert late.reference in filtered and on_time.reference not in filtered
