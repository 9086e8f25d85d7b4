"""A domain added to a federated request: the SPOC asks, the domain is checked, the Feedback
team approves (an amended agreement listing every domain goes out for signature) or refuses,
and once the amendment is signed the domain joins the allow list.

The request stays federated throughout: the addition's progress is its own small state. Its
domain is a RequestedDomain with pending_addition set, live (so no other request may take it)
but not covered until the addition is complete.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django_fsm import FSMField, transition

from .check_runs import CheckRun
from .requests import FederationRequest, RequestedDomain


class AdditionState(models.TextChoices):
    REQUESTED = "requested", "Waiting for the Feedback team's review"
    APPROVED = "approved", "Amended agreement out for signature"
    ADDED = "added", "Added"
    REFUSED = "refused", "Refused"
    CANCELLED = "cancelled", "Cancelled"
    EXPIRED = "expired", "Amended agreement expired unsigned"


OPEN_ADDITION_STATES = [AdditionState.REQUESTED, AdditionState.APPROVED]


class DomainAddition(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="domain_additions"
    )
    domain = models.OneToOneField(
        RequestedDomain, on_delete=models.PROTECT, related_name="addition"
    )
    state = FSMField(default=AdditionState.REQUESTED, choices=AdditionState.choices, protected=True)
    requested_at = models.DateTimeField(default=timezone.now)
    requested_by_email = models.EmailField()
    check_run = models.ForeignKey(
        CheckRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decision_notes = models.TextField(blank=True)
    # When the amended agreement was emailed: it lapses FPA_EXPIRY_DAYS later, unsigned.
    agreement_sent_at = models.DateTimeField(null=True, blank=True)
    added_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]
        constraints = [
            # One addition at a time per request: each amended agreement lists every domain, so
            # two at once would each leave the other's domain out.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(state__in=OPEN_ADDITION_STATES),
                name="domainaddition_one_open_per_request",
            ),
            models.CheckConstraint(
                condition=Q(state__in=AdditionState.values), name="domainaddition_state_valid"
            ),
        ]

    def __str__(self):
        return f"{self.domain.display_name} added to {self.request}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_ADDITION_STATES

    def agreement_lapsed(self, now: datetime | None = None) -> bool:
        """The amended agreement has waited unsigned FPA_EXPIRY_DAYS: expired now, whether or
        not the daily job has marked it."""
        return (
            self.state == AdditionState.APPROVED
            and self.agreement_sent_at is not None
            and self.agreement_sent_at
            <= (now or timezone.now()) - timedelta(days=settings.FPA_EXPIRY_DAYS)
        )

    def agreement_expires_on(self):
        """The day the amended agreement expires unsigned (None before it is sent)."""
        if self.agreement_sent_at is None:
            return None
        return timezone.localdate(self.agreement_sent_at + timedelta(days=settings.FPA_EXPIRY_DAYS))

    # -- transitions (state and its own fields only) ------------------------------------------

    @transition(field=state, source=AdditionState.REQUESTED, target=AdditionState.APPROVED)
    def approve(self, *, decider, notes: str):
        self.decided_at = timezone.now()
        self.decided_by = decider
        self.decision_notes = notes

    @transition(field=state, source=AdditionState.REQUESTED, target=AdditionState.REFUSED)
    def refuse(self, *, decider, reason: str):
        self.decided_at = timezone.now()
        self.decided_by = decider
        self.decision_notes = reason
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(field=state, source=AdditionState.APPROVED, target=AdditionState.ADDED)
    def complete(self):
        self.added_at = timezone.now()

    @transition(field=state, source=OPEN_ADDITION_STATES, target=AdditionState.CANCELLED)
    def cancel(self, *, reason: str):
        self.closed_at = timezone.now()
        self.closed_reason = reason

    @transition(field=state, source=AdditionState.APPROVED, target=AdditionState.EXPIRED)
    def expire(self):
        self.closed_at = timezone.now()
        self.closed_reason = (
            f"The amended agreement was not signed within {settings.FPA_EXPIRY_DAYS} days."
        )
