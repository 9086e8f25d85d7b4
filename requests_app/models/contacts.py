"""A request's contacts, changes of SPOC, and the Teams set-up the organisation confirms."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils import timezone

from .requests import FederationRequest


class ContactRole(models.TextChoices):
    SPOC = "spoc", "Single point of contact (SPOC)"
    TECHNICAL = "technical", "Technical contact"
    SIGNATORY = "signatory", "Signatory"


class Contact(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="contacts"
    )
    role = models.CharField(max_length=20, choices=ContactRole.choices)
    name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    # A removed contact is kept for the history (who was SPOC when) and loses access at once.
    removed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["role", "name"]
        indexes = [
            # Sign-in asks "is this address a current contact?" on every page a contact opens.
            models.Index(Lower("email"), name="contact_email_lower"),
        ]

    def __str__(self):
        return f"{self.name} ({self.get_role_display()})"


class SpocChangeState(models.TextChoices):
    PROPOSED = "proposed", "Waiting for the Feedback team"
    CONFIRMED = "confirmed", "Confirmed"
    DECLINED = "declined", "Declined"


class SpocChange(models.Model):
    """A new SPOC proposed by the SPOC or the signatory; it takes effect when the Feedback team
    confirms it, and the old SPOC loses SPOC rights at that moment."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="spoc_changes"
    )
    proposed_by = models.EmailField()
    previous_spoc_email = models.EmailField()
    name = models.CharField(max_length=200)
    job_title = models.CharField(max_length=200)
    email = models.EmailField()
    phone = models.CharField(max_length=40, blank=True)
    state = models.CharField(
        max_length=16, choices=SpocChangeState.choices, default=SpocChangeState.PROPOSED
    )
    proposed_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decline_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["-proposed_at"]
        verbose_name = "change of SPOC"
        verbose_name_plural = "changes of SPOC"
        constraints = [
            # One proposal at a time per request: a second waits for the first to be decided.
            models.UniqueConstraint(
                fields=["request"],
                condition=Q(state=SpocChangeState.PROPOSED),
                name="spocchange_one_proposed_per_request",
            ),
        ]

    def __str__(self):
        return f"SPOC of {self.request} to {self.name} <{self.email}>"


class TeamsSetupStep(models.TextChoices):
    """The Teams admin centre steps a technical contact confirms once the request is federated
    (Microsoft Teams admin centre: Users > External access)."""

    OPEN_SETTINGS = "open_settings", "Open the Teams admin centre at Users > External access"
    TEAMS_USERS = (
        "teams_users",
        (
            "Let people in your organisation communicate with Teams users whose accounts are "
            "managed by an organisation"
        ),
    )
    ALLOW_NHS_NET = (
        "allow_nhs_net",
        ("If external access is limited to allowed domains, add nhs.net to the allowed domains"),
    )
    NOT_BLOCKED = "not_blocked", "Check nhs.net is not on the blocked domains list"
    TEST_CHAT = "test_chat", "Start a chat with an NHSmail colleague to check it works"


class TeamsSetupConfirmation(models.Model):
    """A Teams set-up step a contact confirmed as done for a federated request."""

    request = models.ForeignKey(
        FederationRequest, on_delete=models.CASCADE, related_name="teams_setup"
    )
    step = models.CharField(max_length=20, choices=TeamsSetupStep.choices)
    confirmed_by = models.EmailField()
    confirmed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["confirmed_at"]
        constraints = [
            models.UniqueConstraint(fields=["request", "step"], name="teamssetup_step_once"),
        ]

    def __str__(self):
        return f"{self.get_step_display()} ({self.request})"
