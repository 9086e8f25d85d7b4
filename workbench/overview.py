"""Reads for the Feedback team's overview (the admin's first page): counts per state, what waits
on the team, what is overdue, the days requests spend in each state, federations per month.

Each function runs a fixed number of SQL queries whatever the number of rows, and writes
nothing. The workbench's pages call these; they read requests_app's and agreements' data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Count,
    Exists,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Window,
)
from django.db.models.functions import Coalesce, TruncMonth
from django.utils import timezone

from agreements.models import Agreement, EvidenceCriterion, EvidenceItem, EvidenceStatus
from agreements.selectors import evidence_overdue, reattestations_overdue, unsigned_overdue
from requests_app.models import (
    AdditionState,
    AuditEvent,
    CheckRun,
    CheckRunState,
    DomainAddition,
    FederationRequest,
    SpocChange,
    SpocChangeState,
    State,
)
from requests_app.overdue_sections import (
    OverdueRow,
    OverdueRows,
    OverdueSection,
    overdue_requests,
    register_overdue_section,
)
from requests_app.selectors import overdue_remediation_cases

# The period the time-in-state figures cover unless staff choose another: the last 90 days,
# today included.
DEFAULT_PERIOD_DAYS = 90
FEDERATED_MONTHS = 12
VIEW_REQUESTS = "requests_app.view_federationrequest"


@contextmanager
def planned_without_jit() -> Iterator[None]:
    """The overview's reads in one transaction with PostgreSQL's JIT compilation off.

    The waiting list's correlated subqueries give it an estimated cost past jit_above_cost, so
    PostgreSQL compiles it first: measured with 50,000 requests (bench/overview.py), compiling
    cost more than running (the page's median 529 ms with JIT, 317 ms without).
    """
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL jit = off")
        yield


# -- the period --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    """From start to end, both days included, in the portal's time zone."""

    start: date
    end: date

    @classmethod
    def default(cls, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - timedelta(days=DEFAULT_PERIOD_DAYS - 1), today)

    def bounds(self) -> tuple[datetime, datetime]:
        """The first moment of start and the first moment after end."""
        zone = timezone.get_current_timezone()
        return (
            datetime.combine(self.start, time.min, tzinfo=zone),
            datetime.combine(self.end + timedelta(days=1), time.min, tzinfo=zone),
        )

    def __str__(self) -> str:
        return f"{self.start.isoformat()} to {self.end.isoformat()}"


def days_between(earlier: datetime, later: datetime) -> int:
    """Whole days from earlier to later (what "waiting 3 days" means)."""
    return max(0, (later - earlier).days)


# -- counts per state --------------------------------------------------------------------------


@dataclass(frozen=True)
class StateCount:
    state: str
    label: str
    count: int


def state_counts() -> list[StateCount]:
    """Every state in the lifecycle's order with its number of requests, zero included."""
    counted = dict(
        FederationRequest.objects.order_by()
        .values_list("state")
        .annotate(count=Count("pk"))
        .values_list("state", "count")
    )
    return [StateCount(state.value, state.label, counted.get(state.value, 0)) for state in State]


# -- waiting on the team -----------------------------------------------------------------------

# What the team does next, by the state a request waits in.
NEXT_STEP = {
    State.SUBMITTED: "Review the request",
    State.REVIEWED: "Send the agreement",
    State.SIGNED: "Review the evidence",
    State.EVIDENCE_VERIFIED: "Federate the domains",
}
SPOC_CHANGE_STEP = "Confirm or decline the change of SPOC"
ADDITION_STEP = "Approve or refuse the added domain"
ALL_ASKS = (SPOC_CHANGE_STEP, ADDITION_STEP)


@dataclass(frozen=True)
class WaitingRow:
    request_id: int
    reference: str
    organisation: str
    waiting_for: str
    since: datetime
    days: int


@dataclass(frozen=True)
class WaitingList:
    rows: list[WaitingRow]
    total: int


def _team_turn(now: datetime) -> Q:
    """Requests whose next step is the team's: submitted with no domain checks still running;
    reviewed with no agreement being prepared; signed with evidence to review, or nothing left
    for the organisation to send; evidence verified (federate)."""
    checks_running = CheckRun.objects.filter(
        request=OuterRef("pk"),
        state=CheckRunState.PENDING,
        requested_at__gte=now - timedelta(minutes=settings.CHECK_RUN_LOST_MINUTES),
    )
    agreement_preparing = Agreement.objects.filter(request=OuterRef("pk")).in_preparation()
    evidence_to_review = EvidenceItem.objects.filter(
        request=OuterRef("pk"), status=EvidenceStatus.PENDING
    )
    # A required criterion with nothing sent for it (only returned items): the organisation's turn.
    sent_for_criterion = EvidenceItem.objects.filter(
        request=OuterRef(OuterRef("pk")),
        criterion=OuterRef("pk"),
        status__in=(EvidenceStatus.PENDING, EvidenceStatus.VERIFIED),
    )
    evidence_awaited = EvidenceCriterion.objects.filter(required=True).exclude(
        Exists(sent_for_criterion)
    )
    return (
        (Q(state=State.SUBMITTED) & ~Exists(checks_running))
        | (Q(state=State.REVIEWED) & ~Exists(agreement_preparing))
        | (Q(state=State.SIGNED) & (Exists(evidence_to_review) | ~Exists(evidence_awaited)))
        | Q(state=State.EVIDENCE_VERIFIED)
    )


def _entered_current_state() -> Coalesce:
    """When the request last entered the state it is in (its audit log), else its creation."""
    entered = (
        AuditEvent.objects.filter(request=OuterRef("pk"), to_state=OuterRef("state"))
        .exclude(to_state="")  # lets PostgreSQL use the auditevent_state_changes index
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(entered), F("created_at"))


def _asks_waiting() -> list[tuple[str, QuerySet[Any], str]]:
    """The asks beside requests that wait on the team: (the step, the asks oldest first, the
    field their wait starts from)."""
    return [
        (
            SPOC_CHANGE_STEP,
            SpocChange.objects.filter(state=SpocChangeState.PROPOSED),
            "proposed_at",
        ),
        (
            ADDITION_STEP,
            DomainAddition.objects.filter(state=AdditionState.REQUESTED),
            "requested_at",
        ),
    ]


def waiting_on_team(
    *, now: datetime | None = None, limit: int | None = None, asks: Iterable[str] = ALL_ASKS
) -> WaitingList:
    """What waits on the team, oldest first (at most limit rows), and how many in all: one
    query for requests and one for each kind of ask named in asks (the steps' names)."""
    now = now or timezone.now()
    requests = (
        FederationRequest.objects.filter(_team_turn(now))
        .select_related("organisation")
        .annotate(waiting_since=_entered_current_state(), waiting_total=Window(Count("pk")))
        .order_by("waiting_since", "pk")
    )
    found = list(requests if limit is None else requests[:limit])
    rows = [
        WaitingRow(
            request_id=req.pk,
            reference=req.reference or "",
            organisation=req.organisation.name,
            waiting_for=NEXT_STEP[State(req.state)],
            since=req.waiting_since,
            days=days_between(req.waiting_since, now),
        )
        for req in found
    ]
    total = found[0].waiting_total if found else 0
    for step, waiting_asks, since_field in _asks_waiting():
        if step not in asks:
            continue
        ordered = (
            waiting_asks.select_related("request__organisation")
            .annotate(waiting_total=Window(Count("pk")))
            .order_by(since_field, "pk")
        )
        asked = list(ordered if limit is None else ordered[:limit])
        rows += [
            WaitingRow(
                request_id=ask.request_id,
                reference=ask.request.reference or "",
                organisation=ask.request.organisation.name,
                waiting_for=step,
                since=getattr(ask, since_field),
                days=days_between(getattr(ask, since_field), now),
            )
            for ask in asked
        ]
        total += asked[0].waiting_total if asked else 0
    rows.sort(key=lambda row: (row.since, row.request_id))
    return WaitingList(rows=rows if limit is None else rows[:limit], total=total)


# -- overdue: the workbench's own sections (others register theirs) -----------------------------


def _unsigned(now: datetime, limit: int | None) -> OverdueRows:
    return overdue_requests(
        unsigned_overdue(now),
        since="fpa_sent_at",
        detail=lambda req: (
            f"Agreement sent {timezone.localtime(req.fpa_sent_at):%d %B %Y}, not signed"
        ),
        limit=limit,
    )


def _evidence(now: datetime, limit: int | None) -> OverdueRows:
    return overdue_requests(
        evidence_overdue(now),
        since="signed_at",
        detail=lambda req: (
            f"Signed {timezone.localtime(req.signed_at):%d %B %Y}, evidence outstanding"
        ),
        limit=limit,
    )


def _suspended(now: datetime, limit: int | None) -> OverdueRows:
    return overdue_requests(
        FederationRequest.objects.filter(state=State.SUSPENDED),
        since=Coalesce("suspended_at", "updated_at"),
        detail=lambda req: req.suspension_reason or "Suspended",
        limit=limit,
    )


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _rows_by_request(
    found: Sequence[Any], total: int, *, since: str, detail: Callable[[Any], str]
) -> OverdueRows:
    return OverdueRows(
        rows=[
            OverdueRow(
                request_id=item.request_id,
                reference=item.request.reference or "",
                organisation=item.request.organisation.name,
                since=_start_of(getattr(item, since)),
                detail=detail(item),
            )
            for item in found
        ],
        total=total,
    )


def _remediation(now: datetime, limit: int | None) -> OverdueRows:
    # One query: the window counts every overdue case before the limit cuts the list.
    cases = overdue_remediation_cases(today=timezone.localdate(now)).annotate(
        overdue_total=Window(Count("pk"))
    )
    found = list(cases if limit is None else cases[:limit])
    return _rows_by_request(
        found,
        found[0].overdue_total if found else 0,
        since="due_date",
        detail=lambda case: (
            "Not fixed: "
            + "; ".join(
                f"{item.get('check', '')} on {item.get('domain', '')}" for item in case.items
            )
        ),
    )


def _reattestation(now: datetime, limit: int | None) -> OverdueRows:
    found_all = (
        reattestations_overdue(timezone.localdate(now))
        .annotate(overdue_total=Window(Count("pk")))
        .order_by("term_ends_on", "pk")
    )
    found = list(found_all if limit is None else found_all[:limit])
    return _rows_by_request(
        found,
        found[0].overdue_total if found else 0,
        since="term_ends_on",
        detail=lambda item: "The term ended with no answer from the organisation",
    )


def register_workbench_sections() -> None:
    """The overdue lists the workbench owns (WorkbenchConfig.ready)."""
    register_overdue_section(
        OverdueSection(
            slug="unsigned",
            title="Agreements unsigned",
            explanation=(
                f"Agreements sent more than {settings.FPA_REMINDER_DAYS} days ago "
                "(FPA_REMINDER_DAYS) and still not signed."
            ),
            since_heading="Agreement sent",
            days_heading="Days since sent",
            permission=VIEW_REQUESTS,
            rows=_unsigned,
        )
    )
    register_overdue_section(
        OverdueSection(
            slug="evidence",
            title="Evidence outstanding",
            explanation=(
                f"Signed more than {settings.EVIDENCE_REMINDER_DAYS} days ago "
                "(EVIDENCE_REMINDER_DAYS) and still short of verified evidence."
            ),
            since_heading="Signed",
            days_heading="Days since signed",
            permission=VIEW_REQUESTS,
            rows=_evidence,
        )
    )
    register_overdue_section(
        OverdueSection(
            slug="suspended",
            title="Suspended",
            explanation="Off the allow list until reinstated, or revoked by a second person.",
            since_heading="Suspended",
            days_heading="Days suspended",
            permission=VIEW_REQUESTS,
            rows=_suspended,
        )
    )
    register_overdue_section(
        OverdueSection(
            slug="remediation",
            title="Remediation cases overdue",
            explanation=(
                "A check that got worse on a federated domain, not fixed by its due date "
                "(REMEDIATION_DAYS): suspend, or close the case with a reason."
            ),
            since_heading="Due",
            days_heading="Days overdue",
            permission=VIEW_REQUESTS,
            rows=_remediation,
        )
    )
    register_overdue_section(
        OverdueSection(
            slug="reattestation",
            title="Re-attestations overdue",
            explanation=(
                "The agreement's term has ended without the organisation's re-attestation: "
                "listed for suspension, which a person decides."
            ),
            since_heading="Term ended",
            days_heading="Days since",
            permission=VIEW_REQUESTS,
            rows=_reattestation,
        )
    )


# -- days spent in each state ------------------------------------------------------------------


@dataclass(frozen=True)
class StateTime:
    """Stays in a state that ended in the period: how many, and their median and 90th
    percentile in days (None when there were none)."""

    state: str
    label: str
    stays: int
    median_days: float | None
    p90_days: float | None


def percentile_cont(values: Sequence[float], fraction: float) -> float:
    """PostgreSQL's percentile_cont: linear interpolation between the sorted values at
    position fraction * (n - 1)."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


# A stay's columns: the state, when the request entered it, when it left (its next change).
STAY_COLUMNS = ("from_state", "entered_at", "created_at")


def _stays(period: Period) -> QuerySet[AuditEvent, tuple[str, datetime, datetime]]:
    """Each stay in a state that ended in the period (STAY_COLUMNS): the state change that
    ended it (its from_state is the state left) and the request's state change before it,
    which began the stay. On PostgreSQL both are read from indexes alone (migration 0015)."""
    start, end = period.bounds()
    # The change before. Two changes of one request never share an instant: each is its own
    # transaction under the request's row lock.
    previous = (
        AuditEvent.objects.filter(
            request=OuterRef("request"), created_at__lt=OuterRef("created_at")
        )
        .exclude(to_state="")
        .order_by("-created_at", "-pk")
        .values("created_at")[:1]
    )
    stays: QuerySet[AuditEvent, tuple[str, datetime, datetime]] = (
        AuditEvent.objects.filter(created_at__gte=start, created_at__lt=end, request__isnull=False)
        .exclude(to_state="")
        .exclude(from_state="")
        .annotate(entered_at=Subquery(previous))
        .order_by()
        .values_list(*STAY_COLUMNS)
    )
    return stays


def _time_in_state_database(period: Period) -> dict[str, tuple[int, float, float]]:
    """PostgreSQL: the percentiles aggregated in the database, one row per state."""
    inner, params = _stays(period).query.sql_with_params()
    # The ORM builds the stays; the ordered-set aggregate it has no expression for is written
    # here around them.
    sql = (
        "SELECT to_state, COUNT(*), "  # noqa: S608 (the ORM's own SQL, its values as parameters)
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY days), "
        "percentile_cont(0.9) WITHIN GROUP (ORDER BY days) "
        "FROM (SELECT stay.col1 AS to_state, "
        "EXTRACT(EPOCH FROM (stay.col3 - stay.col2)) / 86400.0 AS days "
        f"FROM ({inner}) AS stay (col1, col2, col3) WHERE stay.col2 IS NOT NULL) AS stays "
        "GROUP BY to_state"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {
            state: (count, float(median), float(p90))
            for state, count, median, p90 in cursor.fetchall()
        }


def _time_in_state_python(period: Period) -> dict[str, tuple[int, float, float]]:
    """Any database: the stays read in one query and the percentiles taken here."""
    durations: dict[str, list[float]] = {}
    for state, entered, left in _stays(period):
        if entered is not None:  # a change with none before it (a log imported part-way)
            durations.setdefault(state, []).append((left - entered).total_seconds() / 86400)
    return {
        state: (len(days), percentile_cont(days, 0.5), percentile_cont(days, 0.9))
        for state, days in durations.items()
    }


def time_in_state(period: Period, *, in_database: bool | None = None) -> list[StateTime]:
    """Median and 90th-percentile days spent in each state, over the stays that ended in the
    period (a request still in a state is not counted until it leaves). One query."""
    if in_database is None:
        in_database = connection.vendor == "postgresql"
    figures = _time_in_state_database(period) if in_database else _time_in_state_python(period)
    times = []
    for state in State:
        stays, median, p90 = figures.get(state.value, (0, None, None))
        times.append(StateTime(state.value, state.label, stays, median, p90))
    return times


# -- federated per month -----------------------------------------------------------------------


@dataclass(frozen=True)
class MonthCount:
    month: date
    count: int


def month_starts(today: date, months: int) -> list[date]:
    """The first day of each of the last months months, this one included, oldest first."""
    starts = []
    year, month = today.year, today.month
    for _ in range(months):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def federated_per_month(*, today: date | None = None) -> list[MonthCount]:
    """Requests federated (first federated: reinstatement is not counted) in each of the last
    twelve months, this one included, zero included."""
    starts = month_starts(today or timezone.localdate(), FEDERATED_MONTHS)
    first = datetime.combine(starts[0], time.min, tzinfo=timezone.get_current_timezone())
    counted = {
        month.date(): count
        for month, count in FederationRequest.objects.filter(federated_at__gte=first)
        .annotate(month=TruncMonth("federated_at"))
        .order_by()
        .values_list("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
    }
    return [MonthCount(start, counted.get(start, 0)) for start in starts]
