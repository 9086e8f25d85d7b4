"""The Feedback team's overview, the admin's first page for staff who may see requests: what
it shows each member of staff (what their permissions allow), its tables, charts and the CSV
download of each table. It reads through workbench.overview and writes only the export's audit
row (through requests_app's service)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING

from django import forms
from django.urls import reverse
from django.utils import timezone

from portal_kit.tables import Cell
from requests_app.overdue_sections import overdue_sections

from . import charts, overview

# The page lists the oldest of each list; its CSV has them all.
WAITING_SHOWN = 50
OVERDUE_SHOWN = 20
AUDIT_PERMISSION = "requests_app.view_auditevent"
SPOC_PERMISSION = "requests_app.view_spocchange"
# Whoever may review a request may refuse an added domain (approving sends the amendment).
REVIEW_PERMISSION = "requests_app.review_request"

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class PeriodForm(forms.Form):
    """The period the days-in-state figures cover (a GET form: the page stays bookmarkable)."""

    # A date input sends and shows ISO dates whatever the locale.
    start = forms.DateField(
        label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self):
        cleaned = super().clean()
        start, end = cleaned.get("start"), cleaned.get("end")
        if start and end and start > end:
            raise forms.ValidationError("The period must start on or before the day it ends.")
        return cleaned


def chosen_period(query) -> tuple[PeriodForm, overview.Period]:
    """The form as sent, and its period, or the default period when none or an invalid one
    was sent (the form then carries its errors)."""
    default = overview.Period.default()
    if "start" not in query and "end" not in query:
        form = PeriodForm(initial={"start": default.start, "end": default.end})
        return form, default
    form = PeriodForm(query)
    if form.is_valid():
        return form, overview.Period(form.cleaned_data["start"], form.cleaned_data["end"])
    return form, default


@dataclass
class Table:
    """A table as the page shows it and as its CSV has it: links (the request's change page)
    go with the first cell of each row on the page; total counts rows beyond those shown."""

    slug: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]
    links: list[str] = field(default_factory=list)
    total: int | None = None
    numeric: set[int] = field(default_factory=set)  # columns right-aligned on the page

    def filename(self, period: overview.Period, today: date) -> str:
        if self.slug == "time-in-state":
            return f"overview-{self.slug}-{period.start}-to-{period.end}.csv"
        return f"overview-{self.slug}-{today.isoformat()}.csv"

    @property
    def linked_rows(self) -> list[tuple[str, list[Cell]]]:
        """Each row with its link ("" when none), for the page."""
        links = self.links or [""] * len(self.rows)
        return list(zip(links, self.rows, strict=True))

    @property
    def shown_all(self) -> bool:
        return self.total is None or self.total <= len(self.rows)


def change_url(request_id: int) -> str:
    return reverse("admin:requests_app_federationrequest_change", args=[request_id])


def _day(moment: datetime) -> str:
    return timezone.localtime(moment).date().isoformat()


def _days(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"


def states_table(**_) -> Table:
    counts = overview.state_counts()
    return Table(
        "states",
        "Requests by state",
        ["State", "Requests"],
        [[c.label, c.count] for c in counts],
        numeric={1},
    )


def waiting_table(*, user: User, now: datetime, limit: int | None, **_) -> Table:
    asks = [
        step
        for step, permission in (
            (overview.SPOC_CHANGE_STEP, SPOC_PERMISSION),
            (overview.ADDITION_STEP, REVIEW_PERMISSION),
        )
        if user.has_perm(permission)
    ]
    waiting = overview.waiting_on_team(now=now, limit=limit, asks=asks)
    return Table(
        "waiting",
        "Waiting on the team",
        ["Request", "Organisation", "Waiting for", "Since", "Days waiting"],
        [[r.reference, r.organisation, r.waiting_for, _day(r.since), r.days] for r in waiting.rows],
        links=[change_url(r.request_id) for r in waiting.rows],
        total=waiting.total,
        numeric={4},
    )


def overdue_table(slug: str) -> Callable[..., Table]:
    def build(*, now: datetime, limit: int | None, **_) -> Table:
        section = next(s for s in overdue_sections() if s.slug == slug)
        found = section.rows(now, limit)
        return Table(
            f"overdue-{slug}",
            section.title,
            ["Request", "Organisation", section.since_heading, section.days_heading, "Detail"],
            [
                [
                    r.reference,
                    r.organisation,
                    _day(r.since),
                    overview.days_between(r.since, now),
                    r.detail,
                ]
                for r in found.rows
            ],
            links=[change_url(r.request_id) for r in found.rows],
            total=found.total,
            numeric={3},
        )

    return build


def time_in_state_table(*, period: overview.Period, **_) -> Table:
    times = overview.time_in_state(period)
    return Table(
        "time-in-state",
        f"Days in each state, stays that ended {period.start:%d %B %Y} to {period.end:%d %B %Y}",
        ["State", "Stays ended", "Median days", "90th percentile days"],
        [[t.label, t.stays, _days(t.median_days), _days(t.p90_days)] for t in times],
        numeric={1, 2, 3},
    )


def federated_table(**_) -> Table:
    months = overview.federated_per_month()
    return Table(
        "federated",
        "Requests federated per month",
        ["Month", "Requests federated"],
        [[f"{m.month:%B %Y}", m.count] for m in months],
        numeric={1},
    )


def table_builders(user: User) -> dict[str, Callable[..., Table]]:
    """The tables this member of staff may see, by slug (their CSV too)."""
    builders: dict[str, Callable[..., Table]] = {
        "states": states_table,
        "waiting": waiting_table,
    }
    for section in overdue_sections():
        if user.has_perm(section.permission):
            builders[f"overdue-{section.slug}"] = overdue_table(section.slug)
    # Derived from the audit log: for those who may read it.
    if user.has_perm(AUDIT_PERMISSION):
        builders["time-in-state"] = time_in_state_table
    builders["federated"] = federated_table
    return builders


def states_chart(table: Table) -> charts.Chart:
    return charts.horizontal_bars(
        slug="states",
        title="Requests by state",
        description="A bar for each state, its length the number of requests in it: "
        + "; ".join(f"{label} {count}" for label, count in table.rows)
        + ".",
        rows=[str(row[0]) for row in table.rows],
        series=[
            charts.Series(
                [float(row[1] or 0) for row in table.rows],
                [str(row[1]) for row in table.rows],
            )
        ],
    )


def time_in_state_chart(table: Table) -> charts.Chart:
    def value(cell: Cell) -> float | None:
        return float(cell) if cell not in ("", None) else None

    medians = [value(row[2]) for row in table.rows]
    p90s = [value(row[3]) for row in table.rows]
    described = "; ".join(
        f"{row[0]}: median {row[2]}, 90th percentile {row[3]} days"
        if row[1]
        else f"{row[0]}: no stays ended"
        for row in table.rows
    )
    return charts.horizontal_bars(
        slug="time-in-state",
        title="Days in each state",
        description="Two bars for each state, the median (solid) and the 90th percentile "
        f"(striped) of days spent in it: {described}.",
        rows=[str(row[0]) for row in table.rows],
        series=[
            charts.Series(
                medians,
                [f"median {m:.1f} d" if m is not None else "no stays ended" for m in medians],
            ),
            charts.Series(
                p90s,
                [f"90th {p:.1f} d" if p is not None else "" for p in p90s],
                striped=True,
            ),
        ],
    )


def federated_chart(table: Table) -> charts.Chart:
    months = [str(row[0]) for row in table.rows]
    return charts.vertical_bars(
        slug="federated",
        title="Requests federated per month",
        description="A column for each of the last twelve months, its height the number of "
        "requests federated: " + "; ".join(f"{row[0]} {row[1]}" for row in table.rows) + ".",
        columns=[f"{m.split()[0][:3]} {m.split()[1]}" for m in months],
        values=[int(row[1] or 0) for row in table.rows],
    )


CHARTS = {
    "states": states_chart,
    "time-in-state": time_in_state_chart,
    "federated": federated_chart,
}


def overview_context(user: User, query) -> dict:
    """Everything the page shows this member of staff."""
    form, period = chosen_period(query)
    now = timezone.now()
    tables = {}
    for slug, build in table_builders(user).items():
        limit = WAITING_SHOWN if slug == "waiting" else OVERDUE_SHOWN
        tables[slug] = build(user=user, now=now, period=period, limit=limit)
    sections = {s.slug: s for s in overdue_sections()}
    return {
        "period": period,
        "period_form": form,
        # Templates read names, not slugs: time-in-state is tables.time_in_state.
        "tables": {slug.replace("-", "_"): table for slug, table in tables.items()},
        "charts": {
            slug.replace("-", "_"): CHARTS[slug](tables[slug]) for slug in CHARTS if slug in tables
        },
        "overdue": [
            (sections[slug.removeprefix("overdue-")], table)
            for slug, table in tables.items()
            if slug.startswith("overdue-")
        ],
        "period_query": f"start={period.start.isoformat()}&end={period.end.isoformat()}",
    }


def overview_table(user: User, slug: str, query) -> tuple[Table, str] | None:
    """One table in full for its CSV, and the file's name; None when this member of staff may
    not see it (or there is no such table)."""
    build = table_builders(user).get(slug)
    if build is None:
        return None
    _, period = chosen_period(query)
    table = build(user=user, now=timezone.now(), period=period, limit=None)
    return table, table.filename(period, timezone.localdate())
