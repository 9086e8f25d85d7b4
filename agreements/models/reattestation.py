"""The annual re-attestation of a federated request's agreement.

Before the agreement's term ends (AGREEMENT_TERM_MONTHS from the federation's effective date,
then one term on at each renewal) the SPOC confirms the contacts and answers each DCB1596
criterion, the signatory confirms, and the Feedback team verifies it: the term renews.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from requests_app.models import FederationRequest, State


class ReattestationStatus(models.TextChoices):
    OPEN = "open", "Waiting for the SPOC's answer"
    ANSWERED = "answered", "Waiting for the signatory's confirmation"
    CONFIRMED = "confirmed", "Waiting for the Feedback team to verify"
    VERIFIED = "verified", "Verified: the term is renewed"


# Not yet verified: at most one such per request.
OPEN_REATTESTATION_STATUSES = (
    ReattestationStatus.OPEN,
    ReattestationStatus.ANSWERED,
    ReattestationStatus.CONFIRMED,
)


# Where a re-attestation may be answered and verified: federated, or suspended meanwhile (a late
# answer may be what the organisation needs to be reinstated). Reminders go to federated only.
REATTESTATION_ACTIVE_STATES = (State.FEDERATED, State.SUSPENDED)


class Reattestation(models.Model):
    """One term's re-attestation: opened REATTESTATION_NOTICE_DAYS before term_ends_on."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.PROTECT, related_name="reattestations"
    )
    term_ends_on = models.DateField("the term ends on")
    status = models.CharField(
        max_length=20, choices=ReattestationStatus.choices, default=ReattestationStatus.OPEN
    )
    opened_at = models.DateTimeField(default=timezone.now)
    # The SPOC's answer (the answers per criterion are ReattestationAnswer rows).
    contacts_confirmed_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    answered_by_email = models.EmailField(blank=True)
    # The signatory's confirmation: who they were when they confirmed.
    signatory_confirmed_at = models.DateTimeField(null=True, blank=True)
    signatory_email = models.EmailField(blank=True)
    signatory_name = models.CharField(max_length=200, blank=True)
    # Staff: verified (the term renewed until renewed_until) or returned with a reason.
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    renewed_until = models.DateField("the term renewed until", null=True, blank=True)
    returned_at = models.DateTimeField(null=True, blank=True)
    returned_reason = models.TextField(blank=True)
    # When the daily job found the term ended without the organisation's answer (a record;
    # the "for suspension" list judges the date itself).
    overdue_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["term_ends_on", "pk"]
        verbose_name = "re-attestation"
        constraints = [
            # The daily job opens at most one at a time per request, whatever runs twice.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(status__in=["open", "answered", "confirmed"]),
                name="reattestation_one_open_per_request",
            ),
            models.UniqueConstraint(
                fields=["request", "term_ends_on"], name="reattestation_once_per_term"
            ),
            models.CheckConstraint(
                condition=Q(status__in=ReattestationStatus.values),
                name="reattestation_status_valid",
            ),
        ]

    def __str__(self):
        return f"Re-attestation of {self.request} (term ends {self.term_ends_on:%d %B %Y})"

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_REATTESTATION_STATUSES


class CriterionAnswer(models.TextChoices):
    STILL_MET = "still_met", "Still met"
    CHANGED = "changed", "Changed: new evidence uploaded"


class ReattestationAnswer(models.Model):
    """The SPOC's answer for one DCB1596 criterion; a change comes with new evidence, which
    the Feedback team verifies as any other."""

    reattestation = models.ForeignKey(
        Reattestation, on_delete=models.CASCADE, related_name="answers"
    )
    criterion = models.ForeignKey("agreements.EvidenceCriterion", on_delete=models.PROTECT)
    answer = models.CharField(max_length=20, choices=CriterionAnswer.choices)
    evidence = models.ForeignKey(
        "agreements.EvidenceItem",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="reattestation_answers",
    )
    answered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["criterion__position", "criterion__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["reattestation", "criterion"], name="reattestationanswer_once"
            ),
            models.CheckConstraint(
                condition=Q(answer="still_met") | Q(evidence__isnull=False),
                name="reattestationanswer_change_has_evidence",
            ),
        ]

    def __str__(self):
        return f"{self.criterion}: {self.get_answer_display()}"
