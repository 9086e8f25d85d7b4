"""The organisation ending its agreement itself: its SPOC or signatory asks, with a reason and a
notice date, and the Feedback team confirms (the request is offboarded) or declines."""

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from .requests import FederationRequest


class OffboardingDecision(models.TextChoices):
    PENDING = "pending", "Waiting for the Feedback team"
    OFFBOARDED = "offboarded", "Confirmed: offboarded"
    DECLINED = "declined", "Declined"


class OffboardingAsk(models.Model):
    """An ask to end the agreement; the domains leave the allow list from notice_date (or the
    day staff confirm, if that is later). Kept once decided, for the history."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="offboarding_asks"
    )
    asked_by_email = models.EmailField()
    asked_at = models.DateTimeField(default=timezone.now)
    reason = models.TextField()
    notice_date = models.DateField("off the allow list from")
    decision = models.CharField(
        max_length=16, choices=OffboardingDecision.choices, default=OffboardingDecision.PENDING
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-asked_at"]
        verbose_name = "offboarding ask"
        constraints = [
            # One ask at a time per request: a second waits until the first is decided.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(decision=OffboardingDecision.PENDING),
                name="offboardingask_one_pending_per_request",
            ),
            models.CheckConstraint(
                condition=Q(decision__in=OffboardingDecision.values),
                name="offboardingask_decision_valid",
            ),
        ]

    def __str__(self):
        return f"Offboarding of {self.request} asked by {self.asked_by_email}"

    @property
    def off_allow_list_from(self) -> date:
        """The notice date, or the day staff confirmed when that is later (the past of an
        allow-list entry is never rewritten: the tenant was told the domain was listed)."""
        if self.decided_at is None:
            return self.notice_date
        return max(self.notice_date, timezone.localdate(self.decided_at))
