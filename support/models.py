"""Support and information requests from the contacts named in a signed agreement."""

from django.conf import settings
from django.db import models
from django.utils import timezone

from requests_app.models import FederationRequest


class Category(models.TextChoices):
    CANNOT_MESSAGE = "cannot_message", "Cannot message an NHSmail user"
    PRESENCE = "presence", "Cannot see an NHSmail user's presence or status"
    CALLS = "calls", "Calls or meetings with NHSmail users fail"
    INFORMATION = "information", "A request for information"
    OTHER = "other", "Something else"


class SupportStatus(models.TextChoices):
    OPEN = "open", "Open"
    IN_PROGRESS = "in_progress", "In progress"
    WAITING = "waiting", "Waiting on your organisation"
    RESOLVED = "resolved", "Resolved"


class SupportRequest(models.Model):
    request = models.ForeignKey(
        FederationRequest, on_delete=models.PROTECT, related_name="support_requests"
    )
    reference = models.CharField(max_length=12, unique=True, null=True, editable=False)  # noqa: DJ001
    raised_by_email = models.EmailField()
    raised_by_name = models.CharField(max_length=200)
    category = models.CharField(max_length=20, choices=Category.choices)
    description = models.TextField()
    affected_users = models.TextField(blank=True)
    started_on = models.DateField()
    status = models.CharField(
        max_length=16, choices=SupportStatus.choices, default=SupportStatus.OPEN, db_index=True
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.reference or f"support request {self.pk}"


class SupportReply(models.Model):
    """A message on a support request, from the Feedback team (author) or a contact (email)."""

    support_request = models.ForeignKey(
        SupportRequest, on_delete=models.CASCADE, related_name="replies"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    author_email = models.EmailField(blank=True)
    body = models.TextField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name_plural = "support replies"

    def __str__(self):
        return f"reply on {self.support_request} at {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def from_team(self) -> bool:
        return self.author_id is not None
