"""Work handed to the worker (the outbox) and the emails it sent, each once."""

from django.db import models
from django.utils import timezone

from .requests import FederationRequest


class OutboxMessage(models.Model):
    """A Celery job written in the same transaction as the change that needs it.

    Published right after commit; the beat sweeper republishes any row a broker outage left
    behind, so a job queued while Redis is down runs once Redis is back.
    """

    task_name = models.CharField(max_length=200)
    kwargs = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # Set when the job has run to its end (done, or given up after its retries). A job handed
    # to Redis can still be lost there (a restart between BRPOP's pop and the worker reading
    # it): one not done OUTBOX_REDISPATCH_SECONDS after its publish is published again.
    completed_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["pk"]

    def __str__(self):
        return f"{self.task_name}({self.kwargs})"


class SentEmail(models.Model):
    """One row per email, keyed so a retried or repeated task sends it only once: claimed by
    the run sending it, then marked sent (requests_app.emails.send_once)."""

    key = models.CharField(max_length=200, unique=True)
    request = models.ForeignKey(
        FederationRequest, null=True, on_delete=models.CASCADE, related_name="sent_emails"
    )
    recipients = models.TextField()
    subject = models.CharField(max_length=300)
    # Empty while claimed: a row claimed long ago and never sent is an email that failed.
    sent_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(default=timezone.now)
    claim_token = models.CharField(max_length=32, blank=True)

    class Meta:
        ordering = ["sent_at"]

    def __str__(self):
        return f"{self.subject} to {self.recipients}"
