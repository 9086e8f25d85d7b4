"""What is overdue, section by section, for the Feedback team's overview: each app registers the
lists it owns (the workbench its unsigned agreements, evidence and suspensions; remediation cases
and re-attestations their own), so requests_app imports none of them.

A section reads a fixed number of queries whatever the number of rows (the overview's query
count must not grow with the data): overdue_requests() below does it in one.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Count, F, Window
from django.db.models.expressions import Combinable

from .models import FederationRequest


@dataclass(frozen=True)
class OverdueRow:
    """One overdue thing: the request it belongs to, since when, and a sentence for people."""

    request_id: int
    reference: str
    organisation: str
    since: datetime
    detail: str


@dataclass(frozen=True)
class OverdueRows:
    """The oldest rows (at most the limit asked for) and how many there are in all."""

    rows: list[OverdueRow]
    total: int


@dataclass(frozen=True)
class OverdueSection:
    """A list on the overview. since_heading names the date column (due, suspended on);
    permission is what a member of staff needs to see it."""

    slug: str
    title: str
    explanation: str
    since_heading: str
    days_heading: str
    permission: str
    rows: Callable[[datetime, int | None], OverdueRows]


_sections: list[OverdueSection] = []


def register_overdue_section(section: OverdueSection) -> None:
    """Called from an app's AppConfig.ready; a slug registered again replaces the first."""
    for position, existing in enumerate(_sections):
        if existing.slug == section.slug:
            _sections[position] = section
            return
    _sections.append(section)


def overdue_sections() -> list[OverdueSection]:
    """Every registered section, in the order registered."""
    return list(_sections)


def overdue_requests(
    requests: Any,
    *,
    since: Combinable | str,
    detail: Callable[[FederationRequest], str],
    limit: int | None,
) -> OverdueRows:
    """The oldest requests of a queryset by the since expression, and their number, in one
    query (a window count over the whole set, taken before the limit)."""
    since_expression = F(since) if isinstance(since, str) else since
    rows = (
        requests.select_related("organisation")
        .annotate(overdue_since=since_expression, overdue_total=Window(Count("pk")))
        .order_by("overdue_since", "pk")
    )
    found = list(rows if limit is None else rows[:limit])
    return OverdueRows(
        rows=[
            OverdueRow(
                request_id=req.pk,
                reference=req.reference or "",
                organisation=req.organisation.name,
                since=req.overdue_since,
                detail=detail(req),
            )
            for req in found
        ],
        total=found[0].overdue_total if found else 0,
    )
