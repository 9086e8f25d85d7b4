"""The append-only audit log, each event chained to the one before by its hash."""

import hashlib

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections, models, router, transaction
from django.utils import timezone

from ..audit_chain import CHAINED_FIELDS, GENESIS, link_hash
from .requests import FederationRequest, State

# pg_advisory_xact_lock's key for appending to the chain: one fixed 64-bit number, named so
# that no other lock in the database picks it by accident.
CHAIN_LOCK_KEY = int.from_bytes(
    hashlib.sha256(b"requests_app.auditevent.chain").digest()[:8], "big", signed=True
)


def _lock_chain(using: str, request_ids: set[int]) -> str:
    """Take the chain for this transaction and return its head's hash (PostgreSQL locks).

    The rows the new events refer to are share-locked first: their foreign keys are checked at
    commit, and a check that waited for a row locked by a transaction that itself waits for the
    chain would deadlock. Read committed: the head is read by a statement after the lock, so it
    sees the event the previous holder committed.
    """
    connection = connections[using]
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            if request_ids:
                table = connection.ops.quote_name(FederationRequest._meta.db_table)
                cursor.execute(
                    f"SELECT 1 FROM {table} WHERE id = ANY(%s) ORDER BY id FOR KEY SHARE",  # noqa: S608 (a model's table name)
                    [sorted(request_ids)],
                )
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK_KEY])
    head = AuditEvent.objects.using(using).order_by("-pk").values_list("chain_hash", flat=True)
    return head.first() or GENESIS


class AuditEventQuerySet(models.QuerySet):
    """Refuses bulk rewrites; PostgreSQL also refuses them with a trigger (migration 0002)."""

    def bulk_create(self, objs, batch_size=None, **kwargs):
        """Chain the events in the order given, then insert them (keys follow that order)."""
        if kwargs.get("ignore_conflicts") or kwargs.get("update_conflicts"):
            raise ValidationError("Audit events are appended, never merged.")
        objs = list(objs)
        with transaction.atomic(using=self.db, savepoint=False):
            previous = _lock_chain(self.db, {obj.request_id for obj in objs if obj.request_id})
            for obj in objs:
                if obj.pk is not None:
                    raise ValidationError("Audit events cannot be changed.")
                obj.chain_hash = previous = link_hash(previous, obj.chain_values())
            return super().bulk_create(objs, batch_size=batch_size)

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
    # SHA-256 over the previous event's chain_hash and this event's fields (audit_chain.py).
    chain_hash = models.CharField(max_length=64, editable=False)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [
            # State changes only, read without the table (index-only) by the overview's days in
            # each state: those in a period by time, and for each the request's change before.
            # What waits on the team finds when its request entered its state by the second.
            models.Index(
                fields=["created_at"],
                include=["request", "from_state"],
                condition=~models.Q(to_state=""),
                name="auditevent_state_changed_at",
            ),
            models.Index(
                fields=["request", "created_at", "id"],
                condition=~models.Q(to_state=""),
                name="auditevent_state_changes",
            ),
        ]

    def __str__(self):
        return f"{self.action} by {self.actor_label} at {self.created_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs):
        """Append the event to the chain: lock the chain, hash onto its head, insert."""
        if self.pk is not None:
            raise ValidationError("Audit events cannot be changed.")
        using = kwargs.get("using") or router.db_for_write(type(self), instance=self)
        # Its own transaction when called outside one, so the lock lasts until the insert
        # commits; inside one, no savepoint: the insert is the caller's, as before the chain.
        with transaction.atomic(using=using, savepoint=False):
            previous = _lock_chain(using, {self.request_id} if self.request_id else set())
            self.chain_hash = link_hash(previous, self.chain_values())
            super().save(*args, **kwargs)

    def chain_values(self) -> dict:
        """The fields the chain's hash covers, as stored."""
        return {name: getattr(self, name) for name in CHAINED_FIELDS}

    def delete(self, *args, **kwargs):
        raise ValidationError("Audit events cannot be deleted.")

    @property
    def to_state_label(self) -> str:
        return State(self.to_state).label if self.to_state in State.values else self.to_state
