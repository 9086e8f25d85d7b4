"""Webhook endpoints of API clients, the events queued for them, and each attempt to deliver."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from api.models import ApiClient


class WebhookEndpoint(models.Model):
    """A URL of an API client's that the portal POSTs the events it subscribed to."""

    client = models.ForeignKey(ApiClient, on_delete=models.PROTECT, related_name="webhooks")
    url = models.URLField(max_length=500)
    # Kept readable, not hashed: every delivery is signed with it (HMAC needs the key itself,
    # unlike an API key, which the portal only has to recognise). Shown to staff once, when the
    # endpoint is made; never shown again in the admin. Staff rotate it by making a new endpoint.
    secret = models.CharField(max_length=100, editable=False)
    events = models.JSONField(default=list)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["client__name", "url"]
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.client.name}: {self.url}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    DELIVERED = "delivered", "Delivered"
    FAILED = "failed", "Failed"


class WebhookDelivery(models.Model):
    """One event for one endpoint; sent until a 2xx answer or its attempts run out."""

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.PROTECT, related_name="deliveries"
    )
    # The receiver's deduplication key: the same across retries and replays of this event.
    event_id = models.UUIDField(default=uuid.uuid4, db_index=True)
    event_type = models.CharField(max_length=64)
    payload = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    status = models.CharField(
        max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # The run sending it now (services.deliver): a second run waits until the claim lapses.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=DeliveryStatus.values),
                name="webhookdelivery_status_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.event_type} {self.event_id} to {self.endpoint.url}"


class WebhookAttempt(models.Model):
    """One POST of a delivery and what came of it: a status code, or why there was none."""

    delivery = models.ForeignKey(
        WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log"
    )
    started_at = models.DateTimeField()
    duration_ms = models.PositiveIntegerField()
    status_code = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["started_at", "pk"]

    def __str__(self) -> str:
        return f"{self.status_code or self.error[:40]} at {self.started_at:%Y-%m-%d %H:%M:%S}"
