"""Runs of the domain checks over a request's domains, and each domain's results."""

from django.db import models
from django.utils import timezone

from ..domains import domain_unicode


class CheckStatus(models.TextChoices):
    """A check's status and a domain's verdict (requests_app.checks.results.Status)."""

    PASS = "pass", "Pass"  # noqa: S105 (a status, not a password)
    WARN = "warn", "Warning"
    FAIL = "fail", "Fail"
    INFO = "info", "Information"
    # The checks could not be made (time-outs, SERVFAIL, REFUSED): never a pass (issue 11).
    ERROR = "error", "Could not be checked"


class CheckRunState(models.TextChoices):
    PENDING = "pending", "Running"
    COMPLETE = "complete", "Complete"


class CheckRunPurpose(models.TextChoices):
    SUBMISSION = "submission", "On submission"
    RERUN = "rerun", "Run again by staff"
    RECHECK = "recheck", "Weekly re-check"
    ADDITION = "addition", "A domain asked to be added"


class CheckRun(models.Model):
    """One run of the domain checks over every domain of a request (a task per domain)."""

    request = models.ForeignKey(
        "requests_app.FederationRequest", on_delete=models.CASCADE, related_name="check_runs"
    )
    purpose = models.CharField(
        max_length=16, choices=CheckRunPurpose.choices, default=CheckRunPurpose.SUBMISSION
    )
    requested_at = models.DateTimeField(default=timezone.now, db_index=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(
        max_length=16, choices=CheckRunState.choices, default=CheckRunState.PENDING
    )
    # The domains queued, as A-labels: the run completes when each has a result, whatever is
    # added to or removed from the request meanwhile (empty on runs from before it was kept).
    names = models.JSONField(default=list, blank=True)
    # Checks that got worse since the request's previous completed run (checks.compare).
    worsened = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-requested_at", "-pk"]

    def __str__(self):
        return f"checks of {self.request} at {self.requested_at:%Y-%m-%d %H:%M}"


class DomainCheck(models.Model):
    """The result of every check for one domain in a run; results is CheckResult.as_dict()s."""

    run = models.ForeignKey(CheckRun, on_delete=models.CASCADE, related_name="domains_checked")
    domain = models.CharField("domain (A-label)", max_length=253)
    checked_at = models.DateTimeField()
    verdict = models.CharField(max_length=8, choices=CheckStatus.choices)
    results = models.JSONField(default=list)

    class Meta:
        ordering = ["domain"]
        constraints = [
            # A task delivered twice records its domain once.
            models.UniqueConstraint(fields=["run", "domain"], name="domaincheck_one_per_run"),
        ]

    def __str__(self):
        return f"{domain_unicode(self.domain)}: {self.verdict}"

    @property
    def display_name(self) -> str:
        return domain_unicode(self.domain)
