"""Remediation cases: a federated domain's check got worse, and the organisation has until a
due date to fix it (issue 12). A case closes itself when a later check finds it fixed, or staff
close it with a reason; nothing is suspended without a person's decision."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from ..checks.names import check_name
from ..domains import domain_unicode
from .check_runs import CheckRun
from .requests import FederationRequest, State

# A case concerns the organisation while its request is federated or suspended (fixing it is the
# way back); once the agreement has ended an open case is history, not a task.
CASE_STATES = (State.FEDERATED, State.SUSPENDED)


class RemediationClosure(models.TextChoices):
    FIXED = "fixed", "Fixed: a later check found it passing"
    STAFF = "staff", "Closed by the Feedback team"


class RemediationCaseQuerySet(models.QuerySet["RemediationCase"]):
    def open(self) -> "RemediationCaseQuerySet":
        return self.filter(closed_at__isnull=True)

    def in_force(self) -> "RemediationCaseQuerySet":
        """Open cases of requests still federated or suspended."""
        return self.open().filter(request__state__in=CASE_STATES)

    def overdue(self, today: date) -> "RemediationCaseQuerySet":
        """Open cases whose due date has passed by today (the due date itself is still in time)."""
        return self.open().filter(due_date__lt=today)

    def awaiting_decision(self, today: date) -> "RemediationCaseQuerySet":
        """Overdue cases of federated requests: each waits for a person to decide whether to
        suspend (a suspended request's case has had that decision)."""
        return self.overdue(today).filter(request__state=State.FEDERATED)


class RemediationCase(models.Model):
    """What got worse on a request's domains, and until when the organisation has to fix it.

    items holds one entry per check that got worse: domain (A-label), check (id), before (its
    status before it got worse), status, summary and fix (from the newest run that checked it),
    found_at (ISO time) and fixed (whether the newest run found it back to before).
    """

    request = models.ForeignKey(
        FederationRequest, on_delete=models.PROTECT, related_name="remediation_cases"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    opened_by_run = models.ForeignKey(
        CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    due_date = models.DateField()
    items = models.JSONField(default=list)
    closed_at = models.DateTimeField(null=True, blank=True)
    how_closed = models.CharField(
        max_length=8, choices=RemediationClosure.choices, blank=True, default=""
    )
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_by_run = models.ForeignKey(
        CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    close_reason = models.TextField(blank=True)

    objects = RemediationCaseQuerySet.as_manager()

    class Meta:
        ordering = ["-opened_at", "-pk"]
        constraints = [
            # A further worsening adds to the open case: the organisation has one list to work
            # through and one due date, never two cases racing each other.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(closed_at__isnull=True),
                name="remediationcase_one_open_per_request",
            ),
            models.CheckConstraint(
                condition=Q(closed_at__isnull=True, how_closed="")
                | Q(closed_at__isnull=False, how_closed__in=RemediationClosure.values),
                name="remediationcase_closed_says_how",
            ),
            # Staff closing a case the checks do not call fixed say why (the audit log keeps it).
            models.CheckConstraint(
                condition=~Q(how_closed=RemediationClosure.STAFF) | ~Q(close_reason=""),
                name="remediationcase_staff_close_has_reason",
            ),
        ]
        indexes = [
            # The overdue list and the team's overview: open cases by due date.
            models.Index(
                fields=["due_date"],
                condition=Q(closed_at__isnull=True),
                name="remediationcase_open_due",
            ),
        ]

    def __str__(self):
        return f"remediation of {self.request} opened {self.opened_at:%Y-%m-%d}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None

    def is_overdue(self, today: date | None = None) -> bool:
        """Judged now, not by the job that lists overdue cases."""
        return self.is_open and self.due_date < (today or timezone.localdate())

    def items_for_people(self) -> list[dict]:
        """The items with the domain and check as people write them, those to fix first."""
        return sorted(
            (
                {
                    **item,
                    "domain": domain_unicode(item["domain"]),
                    "check_name": check_name(item["check"]),
                }
                for item in self.items
            ),
            key=lambda item: (bool(item.get("fixed")), item["domain"], item["check"]),
        )
