"""The append-only audit log."""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from .requests import FederationRequest, State


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk rewrites; PostgreSQL also refuses them with a trigger (migration 0002)."""

    def update(self, **kwargs):
        raise ValidationError("Audit events cannot be changed.")

    def delete(self):
        raise ValidationError("Audit events cannot be deleted.")


class AuditEvent(models.Model):
    """Append-only: written by services in the same transaction as the change it records."""

    request = models.ForeignKey(
        FederationRequest,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT
    )
    # Who acted when there is no user: "requester (status link)", "system".
    actor_label = models.CharField(max_length=200)
    action = models.CharField(max_length=64, db_index=True)
    from_state = models.CharField(max_length=32, blank=True)
    to_state = models.CharField(max_length=32, blank=True)
    message = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self):
        return f"{self.action} by {self.actor_label} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise ValidationError("Audit events cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events cannot be deleted.")

    @property
    def to_state_label(self) -> str:
        return State(self.to_state).label if self.to_state in State.values else self.to_state
