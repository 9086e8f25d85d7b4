"""The Feedback team's overview, the admin's first page: counts per state, what waits on the
team, what is overdue, days in each state (median and 90th percentile), federations per month;
a CSV of each table, audited; what each member of staff may see; a query count that does not
grow with the rows."""

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from agreements.models import Agreement, EvidenceStatus, Reattestation
from requests_app.models import (
    AuditEvent,
    CheckRun,
    CheckRunState,
    DomainAddition,
    FederationRequest,
    RemediationCase,
    RequestedDomain,
    SpocChange,
    State,
)
from tests.factories import (
    AgreementFactory,
    EvidenceItemFactory,
    FederationRequestFactory,
    OrganisationFactory,
)
from tests.workbench.helpers import text
from workbench.overview import Period, percentile_cont, time_in_state

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
# 15 June 2026, 12:00 in London (BST): every figure below is counted from here.
NOW = datetime(2026, 6, 15, 11, 0, tzinfo=UTC)


@pytest.fixture
def frozen():
    with time_machine.travel(NOW, tick=False):
        yield


def csv_url(slug: str, query: str = "") -> str:
    return reverse("admin:overview_csv", args=[slug]) + (f"?{query}" if query else "")


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def table_rows(response, slug: str) -> list[list[str]]:
    """The rows of one of the page's tables as a person reads them (links' text, no tags)."""
    page = response.content.decode()
    match = re.search(rf'<table[^>]*id="table-{slug}".*?<tbody>(.*?)</tbody>', page, re.S)
    assert match, f"no table {slug}"
    rows = []
    for row in re.findall(r"<tr>(.*?)</tr>", match.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([re.sub(r"<[^>]+>", "", cell).strip() for cell in cells])
    return rows


def entered(req, state: str, when: datetime, *, from_state: str = "") -> None:
    """The audit event a transition writes, at when."""
    AuditEvent.objects.create(
        request=req,
        actor_label="fiona.feedback",
        action=f"request.{state}",
        from_state=from_state,
        to_state=state,
        created_at=when,
    )


def days_ago(days: float) -> datetime:
    return NOW - timedelta(days=days)


# -- counts per state -------------------------------------------------------------------------


def test_counts_every_state_zero_included(client, feedback_user, frozen):
    for state, count in [
        (State.SUBMITTED, 3),
        (State.REVIEWED, 2),
        (State.FPA_SENT, 1),
        (State.FEDERATED, 4),
        (State.SUSPENDED, 1),
    ]:
        for _ in range(count):
            FederationRequestFactory(state=state)
    client.force_login(feedback_user)

    response = client.get(INDEX)

    expected = [
        ["Submitted", "3"],
        ["Reviewed", "2"],
        ["Agreement sent", "1"],
        ["Agreement signed", "0"],
        ["Evidence verified", "0"],
        ["Federated", "4"],
        ["Suspended", "1"],
        ["Rejected", "0"],
        ["Withdrawn", "0"],
        ["Revoked", "0"],
        ["Offboarded", "0"],
    ]
    assert table_rows(response, "states") == expected
    assert csv_rows(client.get(csv_url("states"))) == [["State", "Requests"], *expected]
    # The chart says the same in words: its description, and a figure beside each bar.
    chart = re.search(r'<svg[^>]*id="chart-states".*?</svg>', response.content.decode(), re.S)
    assert 'role="img"' in chart.group(0)
    assert "Submitted 3; Reviewed 2; Agreement sent 1; Agreement signed 0" in chart.group(0)
    assert re.findall(r"<text[^>]*>(\d+)</text>", chart.group(0)) == [
        "3", "2", "1", "0", "0", "4", "1", "0", "0", "0", "0"
    ]  # fmt: skip
    assert "style=" not in response.content.decode()  # the CSP allows no style attribute


# -- waiting on the team ----------------------------------------------------------------------


@pytest.fixture
def waiting(feedback_user, frozen):
    """Requests whose next step is the team's, and others whose next step is not."""

    def named(name, state, **kwargs):
        return FederationRequestFactory(
            state=state, organisation=OrganisationFactory(name=name), **kwargs
        )

    plant = {
        "submitted": named("Ashworth Care", State.SUBMITTED),
        "checks running": named("Bramble Pharmacy", State.SUBMITTED),
        "reviewed": named("Calder Hospice", State.REVIEWED),
        "agreement preparing": named("Dale Dental", State.REVIEWED),
        "signed, evidence to review": named("Eastfield GP", State.SIGNED),
        "signed, evidence awaited": named("Fenwick Opticians", State.SIGNED),
        "evidence verified": named("Glenside Council", State.EVIDENCE_VERIFIED),
        "agreement sent": named("Holm Care Homes", State.FPA_SENT),
        "federated, new SPOC": named('=HYPERLINK("http://x")', State.FEDERATED),
        "federated, domain asked": named("Ivy Lodge", State.FEDERATED),
    }
    entered(plant["submitted"], "submitted", days_ago(10))
    entered(plant["checks running"], "submitted", days_ago(12))
    CheckRun.objects.create(
        request=plant["checks running"], state=CheckRunState.PENDING, requested_at=days_ago(0.01)
    )
    # An older stay in reviewed, then sent and expired: the wait counts from the latest entry.
    entered(plant["reviewed"], "reviewed", days_ago(30))
    entered(plant["reviewed"], "fpa_sent", days_ago(29), from_state="reviewed")
    entered(plant["reviewed"], "reviewed", days_ago(4.5), from_state="fpa_sent")
    entered(plant["agreement preparing"], "reviewed", days_ago(20))
    AgreementFactory(request=plant["agreement preparing"], requested_by=feedback_user)
    entered(plant["signed, evidence to review"], "signed", days_ago(6))
    EvidenceItemFactory(request=plant["signed, evidence to review"], status=EvidenceStatus.PENDING)
    entered(plant["signed, evidence awaited"], "signed", days_ago(25))
    EvidenceItemFactory(request=plant["signed, evidence awaited"], status=EvidenceStatus.RETURNED)
    entered(plant["evidence verified"], "evidence_verified", days_ago(2))
    entered(plant["agreement sent"], "fpa_sent", days_ago(40))
    SpocChange.objects.create(
        request=plant["federated, new SPOC"],
        proposed_by="spoc@example.org.uk",
        previous_spoc_email="spoc@example.org.uk",
        name="Nia New",
        job_title="IT Manager",
        email="nia@example.org.uk",
        proposed_at=days_ago(8),
    )
    ask_for_domain(plant["federated, domain asked"], days_ago(7))
    return plant


def ask_for_domain(req, when) -> None:
    """The request's SPOC asked (at when) to add a domain, not yet decided."""
    domain = RequestedDomain.objects.create(
        request=req, name=f"added-{req.pk}.example.org.uk", pending_addition=True
    )
    DomainAddition.objects.create(
        request=req, domain=domain, requested_at=when, requested_by_email="spoc@example.org.uk"
    )


def test_waiting_on_the_team_oldest_first_with_days(client, feedback_user, waiting):
    client.force_login(feedback_user)

    response = client.get(INDEX)

    ref = {name: req.reference for name, req in waiting.items()}
    assert table_rows(response, "waiting") == [
        [ref["submitted"], "Ashworth Care", "Review the request", "2026-06-05", "10"],
        [
            ref["federated, new SPOC"],
            "=HYPERLINK(&quot;http://x&quot;)",
            "Confirm or decline the change of SPOC",
            "2026-06-07",
            "8",
        ],
        [
            ref["federated, domain asked"],
            "Ivy Lodge",
            "Approve or refuse the added domain",
            "2026-06-08",
            "7",
        ],
        [
            ref["signed, evidence to review"],
            "Eastfield GP",
            "Review the evidence",
            "2026-06-09",
            "6",
        ],
        # 4.5 days before noon on 15 June is midnight on 11 June in London.
        [ref["reviewed"], "Calder Hospice", "Send the agreement", "2026-06-11", "4"],
        [ref["evidence verified"], "Glenside Council", "Federate the domains", "2026-06-13", "2"],
    ]
    change = reverse("admin:requests_app_federationrequest_change", args=[waiting["submitted"].pk])
    assert f'<a href="{change}">{ref["submitted"]}</a>' in response.content.decode()


def test_the_waiting_csv_has_every_row_and_no_formula(client, feedback_user, waiting):
    client.force_login(feedback_user)

    response = client.get(csv_url("waiting"))

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert (
        response["Content-Disposition"] == 'attachment; filename="overview-waiting-2026-06-15.csv"'
    )
    rows = csv_rows(response)
    assert rows[0] == ["Request", "Organisation", "Waiting for", "Since", "Days waiting"]
    assert [row[1] for row in rows[1:]] == [
        "Ashworth Care",
        # A spreadsheet would run a cell starting with "=": the CSV quotes it (OWASP).
        '\'=HYPERLINK("http://x")',
        "Ivy Lodge",
        "Eastfield GP",
        "Calder Hospice",
        "Glenside Council",
    ]
    event = AuditEvent.objects.get(action="report.exported")
    assert (event.actor, event.request) == (feedback_user, None)
    assert event.message.startswith("overview-waiting-2026-06-15.csv: 6 rows, SHA-256 ")


def test_the_page_shows_the_oldest_and_says_how_many_more(client, feedback_user, frozen):
    for n in range(53):
        entered(
            FederationRequestFactory(state=State.EVIDENCE_VERIFIED),
            "evidence_verified",
            days_ago(60 - n),
        )
    client.force_login(feedback_user)

    response = client.get(INDEX)

    assert len(table_rows(response, "waiting")) == 50
    assert "Waiting on the team (the oldest 50 of 53)" in text(response)
    assert len(csv_rows(client.get(csv_url("waiting")))) == 1 + 53


# -- overdue ----------------------------------------------------------------------------------


def test_overdue_agreements_evidence_and_suspensions(client, feedback_user, frozen, settings):
    settings.FPA_REMINDER_DAYS = 7
    settings.EVIDENCE_REMINDER_DAYS = 7
    unsigned = FederationRequestFactory(state=State.FPA_SENT, fpa_sent_at=days_ago(9))
    FederationRequestFactory(state=State.FPA_SENT, fpa_sent_at=days_ago(3))  # not yet
    short = FederationRequestFactory(state=State.SIGNED, signed_at=days_ago(8.5))
    FederationRequestFactory(state=State.SIGNED, signed_at=days_ago(6))  # not yet
    suspended = FederationRequestFactory(
        state=State.SUSPENDED, suspended_at=days_ago(3), suspension_reason="DMARC at p=none."
    )
    client.force_login(feedback_user)

    response = client.get(INDEX)

    def org(req):
        return req.organisation.name

    assert table_rows(response, "overdue-unsigned") == [
        [
            unsigned.reference,
            org(unsigned),
            "2026-06-06",
            "9",
            "Agreement sent 06 June 2026, not signed",
        ]
    ]
    assert table_rows(response, "overdue-evidence") == [
        [
            short.reference,
            org(short),
            "2026-06-07",
            "8",
            "Signed 07 June 2026, evidence outstanding",
        ]
    ]
    assert table_rows(response, "overdue-suspended") == [
        [suspended.reference, org(suspended), "2026-06-12", "3", "DMARC at p=none."]
    ]
    assert "Agreements unsigned: 1" in text(response)
    assert csv_rows(client.get(csv_url("overdue-suspended")))[1] == [
        suspended.reference, org(suspended), "2026-06-12", "3", "DMARC at p=none."
    ]  # fmt: skip


def test_another_apps_overdue_section_joins_the_page(client, feedback_user, frozen, monkeypatch):
    """Remediation cases and re-attestations are other apps' lists: registered, they show."""
    from requests_app import overdue_sections
    from requests_app.overdue_sections import OverdueSection, overdue_requests

    monkeypatch.setattr(overdue_sections, "_sections", list(overdue_sections._sections))
    late = FederationRequestFactory(state=State.FEDERATED, federated_at=days_ago(400))
    overdue_sections.register_overdue_section(
        OverdueSection(
            slug="reattestation",
            title="Re-attestations overdue",
            explanation="No answer by the end of the term.",
            since_heading="Term ended",
            days_heading="Days since",
            permission="requests_app.view_federationrequest",
            rows=lambda now, limit: overdue_requests(
                FederationRequest.objects.filter(federated_at__lte=now - timedelta(days=365)),
                since="federated_at",
                detail=lambda req: "Not re-attested",
                limit=limit,
            ),
        )
    )
    client.force_login(feedback_user)

    response = client.get(INDEX)

    assert table_rows(response, "overdue-reattestation") == [
        [late.reference, late.organisation.name, "2025-05-11", "400", "Not re-attested"]
    ]
    assert "Re-attestations overdue: 1" in text(response)
    assert csv_rows(client.get(csv_url("overdue-reattestation")))[1][0] == late.reference


# -- days in each state -----------------------------------------------------------------------

# Stays that end in May 2026, in days: submitted 1, 2, 3, 4, 10; reviewed 2, 5.
SUBMITTED_STAYS = [1, 2, 3, 4, 10]
START = datetime(2026, 5, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def stays(frozen):
    for n, days in enumerate(SUBMITTED_STAYS):
        req = FederationRequestFactory(state=State.REVIEWED)
        entered(req, "submitted", START + timedelta(days=n))
        entered(req, "reviewed", START + timedelta(days=n + days), from_state="submitted")
        if n < 2:  # two of them go on: reviewed for 2 and 5 days, then the agreement is sent
            left = START + timedelta(days=n + days + (2, 5)[n])
            entered(req, "fpa_sent", left, from_state="reviewed")
    # Left submitted before the period (not counted), and still in submitted (not counted yet).
    old = FederationRequestFactory(state=State.REVIEWED)
    entered(old, "submitted", datetime(2025, 10, 1, tzinfo=UTC))
    entered(old, "reviewed", datetime(2026, 1, 1, tzinfo=UTC), from_state="submitted")
    entered(FederationRequestFactory(), "submitted", START)
    # Entered before the period, left inside it: counted (a stay is counted when it ends).
    long = FederationRequestFactory(state=State.REVIEWED)
    entered(long, "submitted", datetime(2026, 2, 1, 9, 0, tzinfo=UTC))
    entered(long, "reviewed", datetime(2026, 3, 28, 9, 0, tzinfo=UTC), from_state="submitted")


def test_percentile_cont_is_postgresqls():
    assert percentile_cont([1, 2, 3, 4, 10], 0.5) == 3
    assert percentile_cont([1, 2, 3, 4, 10], 0.9) == pytest.approx(7.6)  # 4 + 0.6 * (10 - 4)
    assert percentile_cont([2, 5], 0.9) == pytest.approx(4.7)
    assert percentile_cont([7], 0.9) == 7
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT percentile_cont(0.9) WITHIN GROUP (ORDER BY v) "
            "FROM unnest(ARRAY[1, 2, 3, 4, 10]) AS v"
        )
        assert cursor.fetchone()[0] == pytest.approx(7.6)


@pytest.mark.parametrize("in_database", [True, False], ids=["postgresql", "python"])
def test_days_in_each_state_median_and_90th_percentile(stays, in_database):
    times = {
        t.state: t
        for t in time_in_state(
            Period(date(2026, 3, 18), date(2026, 6, 15)), in_database=in_database
        )
    }

    # The 55-day stay that began in February ended on 28 March, inside the period.
    submitted = times["submitted"]
    assert submitted.stays == 6
    assert submitted.median_days == pytest.approx(3.5)  # 1, 2, 3, 4, 10, 55
    assert submitted.p90_days == pytest.approx(32.5)  # 10 + 0.5 * (55 - 10)
    reviewed = times["reviewed"]
    assert (reviewed.stays, reviewed.median_days, reviewed.p90_days) == (
        2,
        pytest.approx(3.5),
        pytest.approx(4.7),
    )
    assert [t.state for t in times.values() if t.stays == 0] == [
        "fpa_sent", "signed", "evidence_verified", "federated", "suspended", "rejected",
        "withdrawn", "revoked", "offboarded",
    ]  # fmt: skip
    assert times["fpa_sent"].median_days is None


def test_a_chosen_period_and_its_csv(client, feedback_user, stays):
    client.force_login(feedback_user)
    query = "start=2026-05-01&end=2026-05-31"

    response = client.get(f"{INDEX}?{query}")

    # May only: the five stays in submitted and the two in reviewed.
    expected = [
        ["Submitted", "5", "3.0", "7.6"],
        ["Reviewed", "2", "3.5", "4.7"],
        *[[label, "0", "", ""] for label in (
            "Agreement sent", "Agreement signed", "Evidence verified", "Federated", "Suspended",
            "Rejected", "Withdrawn", "Revoked", "Offboarded",
        )],
    ]  # fmt: skip
    assert table_rows(response, "time-in-state") == expected
    assert "median 3.0 d" in response.content.decode()
    assert "90th 7.6 d" in response.content.decode()
    link = csv_url("time-in-state", query).replace("&", "&amp;")
    assert f'href="{link}"' in response.content.decode()

    download = client.get(csv_url("time-in-state", query))

    assert download["Content-Disposition"] == (
        'attachment; filename="overview-time-in-state-2026-05-01-to-2026-05-31.csv"'
    )
    assert csv_rows(download) == [
        ["State", "Stays ended", "Median days", "90th percentile days"],
        *expected,
    ]


def test_the_default_period_is_the_last_90_days(client, feedback_user, stays):
    client.force_login(feedback_user)

    response = client.get(INDEX)

    assert 'value="2026-03-18"' in response.content.decode()
    assert 'value="2026-06-15"' in response.content.decode()
    assert table_rows(response, "time-in-state")[0] == ["Submitted", "6", "3.5", "32.5"]


def test_a_period_that_ends_before_it_starts_is_refused(client, feedback_user, stays):
    client.force_login(feedback_user)

    response = client.get(f"{INDEX}?start=2026-05-31&end=2026-05-01")

    assert "The period must start on or before the day it ends." in text(response)
    assert "Showing the last 90 days instead: 2026-03-18 to 2026-06-15." in text(response)
    assert table_rows(response, "time-in-state")[0] == ["Submitted", "6", "3.5", "32.5"]


# -- federated per month ----------------------------------------------------------------------


def test_federated_per_month_last_twelve(client, feedback_user, frozen):
    for federated_at in [
        datetime(2026, 6, 1, 8, 0, tzinfo=UTC),
        datetime(2026, 6, 14, 8, 0, tzinfo=UTC),
        datetime(2026, 1, 31, 23, 30, tzinfo=UTC),  # January in London too (GMT)
        datetime(2025, 6, 30, 23, 30, tzinfo=UTC),  # 1 July in London (BST): July
        datetime(2025, 6, 29, 12, 0, tzinfo=UTC),  # thirteen months ago: not shown
    ]:
        FederationRequestFactory(state=State.FEDERATED, federated_at=federated_at)
    # Suspended since: still federated in its month.
    FederationRequestFactory(state=State.SUSPENDED, federated_at=datetime(2026, 3, 10, tzinfo=UTC))
    client.force_login(feedback_user)

    response = client.get(INDEX)

    expected = [
        ["July 2025", "1"],
        *[[month, "0"] for month in (
            "August 2025", "September 2025", "October 2025", "November 2025", "December 2025",
        )],
        ["January 2026", "1"],
        ["February 2026", "0"],
        ["March 2026", "1"],
        ["April 2026", "0"],
        ["May 2026", "0"],
        ["June 2026", "2"],
    ]  # fmt: skip
    assert table_rows(response, "federated") == expected
    assert csv_rows(client.get(csv_url("federated"))) == [
        ["Month", "Requests federated"],
        *expected,
    ]
    chart = re.search(r'<svg[^>]*id="chart-federated".*?</svg>', response.content.decode(), re.S)
    assert "July 2025 1; August 2025 0" in chart.group(0)
    assert len(re.findall(r'<rect class="chart-bar"', chart.group(0))) == 4  # no bar for zero


# -- who sees what ----------------------------------------------------------------------------


def test_the_service_desk_sees_what_its_permissions_allow(client, service_desk_user, waiting):
    client.force_login(service_desk_user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "Waiting on the team" in text(response)
    # No audit log for the service desk: no days in each state, nor their CSV.
    assert 'id="table-time-in-state"' not in response.content.decode()
    assert client.get(csv_url("time-in-state")).status_code == 404
    # Nor the changes of SPOC, which it may not see.
    assert "Confirm or decline the change of SPOC" not in text(response)
    # Nor the added domains, which it may not review.
    assert "Approve or refuse the added domain" not in text(response)
    assert len(table_rows(response, "waiting")) == 4


def test_staff_without_the_view_permission_get_the_plain_index(client, outsider_user):
    FederationRequestFactory()
    client.force_login(outsider_user)

    response = client.get(INDEX)

    assert response.status_code == 200
    assert "Waiting on the team" not in text(response)
    assert client.get(csv_url("states")).status_code == 403
    assert not AuditEvent.objects.filter(action="report.exported").exists()


def test_signed_out_visitors_are_sent_to_sign_in(client):
    for path in (INDEX, csv_url("states")):
        response = client.get(path)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


def test_an_unknown_table_is_not_found(client, feedback_user):
    client.force_login(feedback_user)
    assert client.get(csv_url("passwords")).status_code == 404


# -- queries do not grow with the rows ----------------------------------------------------------


def plant(count: int, start: int, staff) -> None:
    """count requests spread over the states, each with its audit trail, agreements, evidence,
    check runs, changes of SPOC and added domains where its state has them."""
    states = [
        State.SUBMITTED,
        State.REVIEWED,
        State.FPA_SENT,
        State.SIGNED,
        State.EVIDENCE_VERIFIED,
        State.FEDERATED,
        State.SUSPENDED,
    ]
    for n in range(start, start + count):
        state = states[n % len(states)]
        req = FederationRequestFactory(
            state=state,
            fpa_sent_at=days_ago(20),
            signed_at=days_ago(15),
            federated_at=days_ago(n % 300),
            suspended_at=days_ago(2),
            reference=f"FR-{800000 + n}",
        )
        path = ["submitted", "reviewed", "fpa_sent", "signed", "evidence_verified", "federated"]
        steps = path[: path.index(state) + 1] if state in path else path
        for step, name in enumerate(steps):
            before = steps[step - 1] if step else ""
            entered(req, name, days_ago(60 - step * 5 - n % 5), from_state=before)
        if state == State.REVIEWED:
            AgreementFactory(request=req, requested_by=staff)
        if state == State.SIGNED:
            EvidenceItemFactory(request=req, status=EvidenceStatus.PENDING)
        if state == State.FEDERATED and n % 2:
            SpocChange.objects.create(
                request=req,
                proposed_by="spoc@example.org.uk",
                previous_spoc_email="spoc@example.org.uk",
                name="Nia New",
                job_title="IT Manager",
                email=f"nia{n}@example.org.uk",
                proposed_at=days_ago(n % 7),
            )
        if state == State.FEDERATED and n % 3:
            ask_for_domain(req, days_ago(n % 5))


def test_the_query_count_does_not_grow_with_rows(
    client, feedback_user, frozen, django_assert_num_queries
):
    plant(5, start=0, staff=feedback_user)
    client.force_login(feedback_user)
    client.get(INDEX)  # warm the session and content-type caches
    with CaptureQueriesContext(connection) as with_five:
        five = client.get(INDEX)
    plant(45, start=5, staff=feedback_user)
    assert FederationRequest.objects.count() == 50
    assert Agreement.objects.exists()

    with django_assert_num_queries(len(with_five)):
        fifty = client.get(INDEX)

    assert sum(int(row[1]) for row in table_rows(five, "states")) == 5
    assert sum(int(row[1]) for row in table_rows(fifty, "states")) == 50
    assert int(table_rows(fifty, "time-in-state")[0][1]) > int(
        table_rows(five, "time-in-state")[0][1]
    )


def test_overdue_remediation_cases_and_reattestations_are_listed(client, feedback_user, frozen):
    drifted = FederationRequestFactory(state=State.FEDERATED)
    RemediationCase.objects.create(
        request=drifted,
        due_date=date(2026, 6, 10),
        items=[{"check": "dmarc", "domain": "drift.example.org.uk"}],
    )
    RemediationCase.objects.create(  # not yet due
        request=FederationRequestFactory(state=State.FEDERATED),
        due_date=date(2026, 6, 20),
        items=[{"check": "spf", "domain": "later.example.org.uk"}],
    )
    silent = FederationRequestFactory(state=State.FEDERATED)
    Reattestation.objects.create(request=silent, term_ends_on=date(2026, 6, 1))
    client.force_login(feedback_user)

    response = client.get(INDEX)

    assert table_rows(response, "overdue-remediation") == [
        [
            drifted.reference,
            drifted.organisation.name,
            "2026-06-10",
            "5",
            "Not fixed: dmarc on drift.example.org.uk",
        ]
    ]
    assert table_rows(response, "overdue-reattestation") == [
        [
            silent.reference,
            silent.organisation.name,
            "2026-06-01",
            "14",
            "The term ended with no answer from the organisation",
        ]
    ]
